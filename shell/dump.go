package shell

import (
	"context"
	"path"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
)

var dumpCommand = &Command{
	Name: "dump",
	Summary: "Print the raw configfs tree below a configfs path (default: the whole LIO tree), one entry a line: " +
		"path, kind (dir, attr, link), permissions, value (an attribute's content with newlines as \\n, or a link's target); --json for a list.",
	Help: "The path is a configfs path such as target/core or /sys/kernel/config/target/iscsi; a path not starting with target/ is taken below target/. " +
		"A write-only attribute shows \"- write-only\", one whose read fails \"- ERRNO: message\". Entries are sorted by path.",
	Params:   []Param{{Name: "path", Type: TypeString, Default: configfs.Root}},
	Variadic: true,
	Run:      cmdDump,
}

// dumpRoot turns the user's path into a configfs path relative to the mount
// point.
func dumpRoot(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	p = strings.TrimPrefix(strings.TrimPrefix(p, "sys/kernel/config"), "/")
	if p == "" || p == "." {
		return configfs.Root
	}
	if p != configfs.Root && !strings.HasPrefix(p, configfs.Root+"/") {
		p = configfs.Root + "/" + p
	}
	return p
}

func cmdDump(ctx context.Context, sh *Shell, _ *Node, a Args) error {
	jsonOut := sh.opts.JSON
	for _, w := range a.Extra {
		if w != "--json" {
			return usagef("dump: unexpected %q (usage: dump [path] [--json])", w)
		}
		jsonOut = true
	}
	p := a.Str("path")
	if p == "--json" {
		jsonOut, p = true, configfs.Root
	}
	root := dumpRoot(p)
	out, err := configfs.Dump(ctx, sh.env.LIO.FS(), root)
	if err != nil {
		return err
	}
	if jsonOut {
		if out == nil {
			out = []configfs.DumpEntry{}
		}
		return sh.printJSON(out)
	}
	for _, e := range out {
		sh.printf("%s\t%s\t%s\t%s\n", e.Path, e.Kind, e.Perm, e.Value)
	}
	return nil
}
