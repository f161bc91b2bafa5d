package shell

import (
	"fmt"
	"path"
	"strings"

	"github.com/tcmsh/tcmsh/backends"
	"github.com/tcmsh/tcmsh/configfs"
)

// backstoreTypeKind is a backstore type (block, fileio, pscsi, ramdisk, user:<subtype>): its storage objects.
type backstoreTypeKind struct{ baseKind }

var kindBackstoreType nodeKind = backstoreTypeKind{}

func (backstoreTypeKind) name() string { return "backstore_type" }

func (backstoreTypeKind) children(sh *Shell, n *Node) ([]*Node, error) {
	l := sh.env.LIO
	sos, err := l.StorageObjects()
	if err != nil {
		return nil, err
	}
	var out []*Node
	for _, so := range sos {
		if so.Plugin != n.plugin {
			continue
		}
		if n.plugin == "user" {
			si, err := sh.storageInfo(so)
			if err != nil || si.Subtype() != n.subtype {
				continue
			}
		}
		c := child(n, kindStorageObject, so.Name)
		c.so = so
		out = append(out, c)
	}
	return out, nil
}

func (backstoreTypeKind) lookup(sh *Shell, n *Node, name string) (*Node, error) {
	l := sh.env.LIO
	if configfs.ValidName("storage object", name) != nil {
		return nil, nil
	}
	so, err := l.FindStorageObject(n.plugin, name)
	if err != nil {
		return nil, nil
	}
	if n.plugin == "user" {
		cfg, _ := l.ReadAttr(path.Join(so.Path(), "attrib", "dev_config"))
		if sub, _, _ := strings.Cut(cfg, "/"); sub != n.subtype {
			return nil, nil
		}
	}
	c := child(n, kindStorageObject, name)
	c.so = so
	return c, nil
}

func (backstoreTypeKind) commands(n *Node) []*Command {
	return []*Command{backstoreCreateCommand(n), {
		Name: "delete", Summary: "Delete a storage object and every LUN that exports it.",
		Params: []Param{{Name: "name", Type: TypeName, Required: true}}, Run: cmdBackstoreDelete}}
}

func (backstoreTypeKind) summary(sh *Shell, n *Node) (string, Status) {
	return sh.countChildren(n, "Storage Objects")
}

func backstoreCreateCommand(n *Node) *Command {
	name := Param{Name: "name", Type: TypeName, Required: true}
	wwn := Param{Name: "wwn", Type: TypeString, Help: "the unit serial (a UUID); generated when not given"}
	c := &Command{Name: "create", Run: cmdBackstoreCreate}
	switch n.plugin {
	case "fileio":
		c.Summary = "Create a fileio storage object on a file (made when missing; size needed then) or a block device."
		c.Params = []Param{name, {Name: "file_or_dev", Type: TypePath, Required: true}, {Name: "size", Type: TypeSize},
			{Name: "write_back", Type: TypeBool, Default: "true"}, {Name: "sparse", Type: TypeBool, Default: "true"}, wwn}
	case "iblock":
		c.Summary = "Create a block storage object on a block device."
		c.Params = []Param{name, {Name: "dev", Type: TypePath, Required: true}, {Name: "readonly", Type: TypeBool, Default: "false"}, wwn,
			{Name: "exclusive", Type: TypeBool, Default: "true"}}
	case "pscsi":
		c.Summary = "Create a pscsi storage object passing a SCSI device through (a path or H:C:T:L)."
		c.Params = []Param{name, {Name: "dev", Type: TypePath, Required: true}}
	case "rd_mcp":
		c.Summary = "Create a ramdisk storage object."
		c.Params = []Param{name, {Name: "size", Type: TypeSize, Required: true}, {Name: "nullio", Type: TypeBool, Default: "false"}, wwn}
	case "user":
		c.Summary = fmt.Sprintf("Create a user:%s storage object served by tcmsh's TCMU engine.", n.subtype)
		c.Help = backendHelp(n.subtype)
		c.Params = []Param{name, {Name: "size", Type: TypeSize, Required: true},
			{Name: "cfgstring", Type: TypeString, Help: "the handler's configuration (optional where the subtype needs none)"}, wwn,
			{Name: "hw_max_sectors", Type: TypeInt, Min: 1, Max: 1 << 20}, {Name: "control", Type: TypeString, Help: "more control tokens, comma separated (max_data_area_mb=…)"}}
	}
	return c
}

func backendHelp(subtype string) string {
	h, err := backends.Help(subtype)
	if err != nil {
		return ""
	}
	return h
}
