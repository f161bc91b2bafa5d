package config

import (
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
)

// TPGNodePath is the targetcli path of a TPG: the target's own path for
// fabrics that do not show TPGs as nodes (loopback, vhost, …).
func TPGNodePath(tpg configfs.TPG) string {
	p := path.Join("/", tpg.Fabric, tpg.WWN)
	if HasTPGTags(tpg.Fabric) {
		p = path.Join(p, "tpg"+strconv.Itoa(tpg.Tag))
	}
	return p
}

// HasTPGTags reports whether a fabric shows TPGs as their own nodes.
func HasTPGTags(fabric string) bool {
	info, _ := configfs.LookupFabric(fabric)
	return info.Has(configfs.FeatTPGTs)
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
