package config

import (
	"fmt"
	"path"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
)

// MapIntoACL maps a new TPG LUN into an ACL at the TPG LUN's own index
// when free, else at the lowest free one. used holds the ACL's mapped LUN
// indexes (one listing of the ACL, kept up to date here), so that mapping
// N LUNs costs N mappings and not N listings of a growing ACL.
func (st Store) MapIntoACL(acl configfs.ACL, tpgLUN int, used map[int]bool) (configfs.MappedLUN, error) {
	index := tpgLUN
	if used[index] {
		for index = 0; used[index]; index++ {
		}
	}
	// The LUN was just made or listed: mapped without a stat first.
	m, err := st.LIO.MapLUN(acl, index, configfs.LUN{TPG: acl.TPG, Index: tpgLUN}, false)
	if err == nil {
		used[index] = true
	}
	return m, err
}

// CopyACL makes to's mapped LUNs, auth, attributes and parameters those
// of from (an ACL joining a tag group takes the group's configuration).
func (st Store) CopyACL(from, to configfs.ACL) error {
	l := st.LIO
	have, err := l.MappedLUNs(to)
	if err != nil {
		return err
	}
	for _, m := range have {
		if err := l.DeleteMappedLUN(m.MappedLUN); err != nil {
			return err
		}
	}
	want, err := l.MappedLUNs(from)
	if err != nil {
		return err
	}
	for _, m := range want {
		if _, err := l.CreateMappedLUN(to, m.Index, m.TPGLUN, m.WriteProtect); err != nil {
			return err
		}
	}
	for _, group := range []string{"auth", "attrib", "param"} {
		vals, err := l.Group(path.Join(from.Path(), group))
		if err != nil {
			continue // a fabric without that group
		}
		ents, err := l.FS().ReadDir(path.Join(to.Path(), group))
		if err != nil {
			continue
		}
		for _, e := range ents {
			v, ok := vals[e.Name]
			if e.Kind != configfs.KindAttr || !e.Writable() || !e.Readable() || !ok {
				continue
			}
			if group == "auth" && v == "" {
				v = "NULL"
			}
			if cur, _ := l.ReadAttr(path.Join(to.Path(), group, e.Name)); strings.TrimSpace(cur) == v {
				continue
			}
			if err := l.WriteAttr(path.Join(to.Path(), group, e.Name), v); err != nil {
				return fmt.Errorf("%s %s: %w", group, e.Name, err)
			}
		}
	}
	return nil
}
