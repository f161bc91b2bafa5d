package shell

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/tcmsh/tcmsh/config"
	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/internal/suggest"
)

// nodeCommands are the commands a node has besides the global ones.
func (sh *Shell) nodeCommands(n *Node) []*Command {
	return n.kind.commands(n)
}

// announce prints a targetcli-style line, or the created/deleted path as JSON.
func (sh *Shell) announce(verb, nodePath, text string) {
	if sh.result != nil {
		switch verb {
		case "created":
			sh.result.Created = append(sh.result.Created, nodePath)
		case "deleted":
			sh.result.Deleted = append(sh.result.Deleted, nodePath)
		}
	}
	if sh.opts.JSON {
		_ = sh.printJSON(map[string]string{verb: nodePath})
		return
	}
	sh.printf("%s\n", text)
}

// afterCreate goes to the new node when auto_cd_after_create is set.
func (sh *Shell) afterCreate(p string) {
	if sh.prefs.Bool("auto_cd_after_create") {
		if n, err := sh.Resolve(p); err == nil {
			_ = sh.changeDir(n)
		}
	}
}

// ---- backstores ----

func cmdBackstoreCreate(ctx context.Context, sh *Shell, n *Node, a Args) error {
	spec := config.BackstoreSpec{Plugin: n.plugin, Subtype: n.subtype, Name: a.Str("name"), Size: a.Size("size"), WWN: a.Str("wwn")}
	switch n.plugin {
	case "fileio":
		spec.Dev = a.Str("file_or_dev")
		spec.WriteBack = a.Bool("write_back")
		spec.Sparse = a.Bool("sparse")
	case "iblock":
		spec.Dev = a.Str("dev")
		spec.Readonly = a.Bool("readonly")
	case "pscsi":
		spec.Dev = a.Str("dev")
	case "rd_mcp":
		spec.Nullio = a.Bool("nullio")
	case "user":
		spec.Config = n.subtype + "/" + a.Str("cfgstring")
		spec.HwMaxSectors = int(a.Int("hw_max_sectors", 0))
		spec.Control = a.Str("control")
	}
	so, msg, err := sh.store().CreateBackstore(ctx, spec)
	if err != nil {
		return err
	}
	p := path.Join(n.path, so.Name)
	sh.announce("created", p, msg)
	sh.afterCreate(p)
	return nil
}

func cmdBackstoreDelete(ctx context.Context, sh *Shell, n *Node, a Args) error {
	so, err := sh.env.LIO.FindStorageObject(n.plugin, a.Str("name"))
	if err != nil {
		return sh.missingChild(n, a.Str("name"))
	}
	if err := sh.store().DeleteStorageObject(ctx, so); err != nil {
		return err
	}
	sh.announce("deleted", path.Join(n.path, so.Name), fmt.Sprintf("Deleted storage object %s.", so.Name))
	return nil
}

// missingChild is the error for a name that is not a child of n.
func (sh *Shell) missingChild(n *Node, name string) error {
	var names []string
	if kids, err := sh.Children(n); err == nil {
		for _, k := range kids {
			names = append(names, k.name)
		}
	}
	return &PathError{Path: path.Join(n.path, name), Parent: n.path, Missing: name, Suggestion: suggest.Nearest(name, names)}
}

// ---- ALUA ----

func cmdALUACreate(_ context.Context, sh *Shell, n *Node, a Args) error {
	name := a.Str("name")
	dir := path.Join(n.so.Path(), "alua", name)
	if err := sh.env.LIO.FS().Mkdir(dir); err != nil {
		return fmt.Errorf("create ALUA group %s: %w", name, err)
	}
	if err := sh.env.LIO.WriteAttr(path.Join(dir, "tg_pt_gp_id"), a.Str("tag")); err != nil {
		_ = sh.env.LIO.FS().Rmdir(dir)
		return fmt.Errorf("ALUA group %s tag %s: %w", name, a.Str("tag"), err)
	}
	sh.announce("created", path.Join(n.path, name), fmt.Sprintf("Created ALUA group %s with tag %s.", name, a.Str("tag")))
	return nil
}

func cmdALUADelete(_ context.Context, sh *Shell, n *Node, a Args) error {
	name := a.Str("name")
	if name == configfs.DefaultALUAGroup {
		return usagef("delete: the default ALUA group cannot be deleted")
	}
	dir := path.Join(n.so.Path(), "alua", name)
	if !sh.env.LIO.Exists(dir) {
		return sh.missingChild(n, name)
	}
	if err := sh.env.LIO.FS().Rmdir(dir); err != nil {
		return fmt.Errorf("delete ALUA group %s: %w", name, err)
	}
	sh.announce("deleted", path.Join(n.path, name), fmt.Sprintf("Deleted ALUA group %s.", name))
	return nil
}

// ---- targets and TPGs ----

func cmdTargetCreate(_ context.Context, sh *Shell, n *Node, a Args) error {
	t, err := sh.env.LIO.CreateTarget(n.fabric, a.Str("wwn"))
	if err != nil {
		return err
	}
	p := path.Join(n.path, t.WWN)
	sh.announce("created", p, "Created target "+t.WWN+".")
	info, _ := configfs.LookupFabric(n.fabric)
	if n.fabric == "iscsi" || info.Has(configfs.FeatNexus) || !info.Has(configfs.FeatTPGTs) {
		if _, err := sh.setupTPG(t, 1); err != nil {
			_ = sh.env.LIO.DeleteTarget(t)
			return err
		}
	}
	sh.afterCreate(p)
	return nil
}

// setupTPG creates a TPG the way targetcli does: a nexus for loopback and
// vhost, the default portal and enable for iSCSI when the preferences say so.
func (sh *Shell) setupTPG(t configfs.Target, tag int) (configfs.TPG, error) {
	l := sh.env.LIO
	tpg, err := l.CreateTPG(t, tag)
	if err != nil {
		return tpg, err
	}
	info, _ := configfs.LookupFabric(t.Fabric)
	if info.Has(configfs.FeatTPGTs) {
		sh.announce("created", config.TPGNodePath(tpg), fmt.Sprintf("Created TPG %d.", tpg.Tag))
	}
	if info.Has(configfs.FeatNexus) {
		if _, err := l.SetNexus(tpg, ""); err != nil {
			return tpg, fmt.Errorf("nexus of %s: %w", config.TPGNodePath(tpg), err)
		}
	}
	if info.Has(configfs.FeatNPs) && sh.prefs.Bool("auto_add_default_portal") {
		if _, err := l.CreatePortal(tpg, "0.0.0.0", 3260); err != nil {
			fmt.Fprintf(sh.opts.Err, "warning: default portal not created (TPGs of one target cannot share ip:port): %v\n", err)
		} else if !sh.opts.JSON {
			sh.printf("Global pref auto_add_default_portal=true\nCreated default portal listening on all IPs (0.0.0.0), port 3260.\n")
		}
	}
	if info.Has(configfs.FeatEnable) && sh.prefs.Bool("auto_enable_tpgt") && l.Exists(path.Join(tpg.Path(), "enable")) {
		if err := l.WriteAttr(path.Join(tpg.Path(), "enable"), "1"); err != nil {
			return tpg, err
		}
	}
	return tpg, nil
}

func cmdTargetDelete(_ context.Context, sh *Shell, n *Node, a Args) error {
	t := configfs.Target{Fabric: n.fabric, WWN: a.Str("wwn")}
	if configfs.ValidName("target", t.WWN) != nil || !sh.env.LIO.Exists(t.Path()) {
		return sh.missingChild(n, t.WWN)
	}
	if err := sh.env.LIO.DeleteTarget(t); err != nil {
		return err
	}
	sh.announce("deleted", path.Join(n.path, t.WWN), "Deleted Target "+t.WWN+".")
	return nil
}

func cmdTPGCreate(_ context.Context, sh *Shell, n *Node, a Args) error {
	tpg, err := sh.setupTPG(n.target, int(a.Int("tag", 0)))
	if err != nil {
		return err
	}
	sh.afterCreate(config.TPGNodePath(tpg))
	return nil
}

func cmdTPGDelete(_ context.Context, sh *Shell, n *Node, a Args) error {
	tpg := configfs.TPG{Target: n.target, Tag: int(a.Int("tag", 0))}
	if !sh.env.LIO.Exists(tpg.Path()) {
		return sh.missingChild(n, "tpg"+a.Str("tag"))
	}
	if err := sh.env.LIO.DeleteTPG(tpg); err != nil {
		return err
	}
	sh.announce("deleted", config.TPGNodePath(tpg), fmt.Sprintf("Deleted TPGT %d.", tpg.Tag))
	return nil
}

func tpgEnable(v string) func(context.Context, *Shell, *Node, Args) error {
	return func(_ context.Context, sh *Shell, n *Node, _ Args) error {
		if err := sh.env.LIO.WriteAttr(path.Join(n.tpg.Path(), "enable"), v); err != nil {
			return err
		}
		word := "enabled"
		if v == "0" {
			word = "disabled"
		}
		sh.announce(word, n.path, "The TPGT has been "+word+".")
		return nil
	}
}

// ---- LUNs ----

func cmdLUNCreate(ctx context.Context, sh *Shell, n *Node, a Args) error {
	so, err := sh.storageObjectArg(ctx, a.Str("storage_object"))
	if err != nil {
		return err
	}
	index := int(a.Int("lun", -1))
	lun, err := sh.env.LIO.CreateLUN(n.tpg, index, so, "")
	if err != nil {
		return err
	}
	p := path.Join(n.path, "lun"+strconv.Itoa(lun.Index))
	sh.announce("created", p, fmt.Sprintf("Created LUN %d.", lun.Index))
	addMapped := sh.prefs.Bool("auto_add_mapped_luns")
	if a.Given("add_mapped_luns") {
		addMapped = a.Bool("add_mapped_luns")
	}
	if addMapped {
		acls, err := sh.env.LIO.ACLs(n.tpg)
		if err != nil {
			return err
		}
		for _, acl := range acls {
			used, err := sh.env.LIO.MappedLUNIndexes(acl)
			if err != nil {
				return err
			}
			m, err := sh.store().MapIntoACL(acl, lun.Index, used)
			if err != nil {
				return err
			}
			if !sh.opts.JSON {
				sh.printf("Created LUN %d->%d mapping in node ACL %s\n", lun.Index, m.Index, acl.NodeWWN)
			}
		}
	}
	sh.afterCreate(p)
	return nil
}

// storageObjectArg resolves a `luns create` argument: a /backstores path,
// or a file or block device that gets a backstore made for it.
func (sh *Shell) storageObjectArg(ctx context.Context, arg string) (configfs.StorageObject, error) {
	if strings.HasPrefix(arg, "/backstores/") || !strings.HasPrefix(arg, "/") {
		n, err := sh.Resolve(arg)
		if err == nil && n.kind == kindStorageObject {
			return n.so, nil
		}
		if strings.HasPrefix(arg, "/backstores/") || strings.HasPrefix(arg, "@") {
			if err != nil {
				return configfs.StorageObject{}, err
			}
			return configfs.StorageObject{}, usagef("%s is not a storage object", arg)
		}
	}
	so, msg, err := sh.store().BackstoreForFile(ctx, arg)
	if err != nil || msg == "" {
		return so, err
	}
	sh.announce("created", path.Join("/backstores", configfs.BackstoreName(so.Plugin), so.Name), msg)
	return so, nil
}

func cmdLUNDelete(_ context.Context, sh *Shell, n *Node, a Args) error {
	idx := int(a.Int("lun", 0))
	li, found, err := sh.env.LIO.LUNAt(n.tpg, idx)
	if err != nil {
		return err
	}
	if !found {
		return sh.missingChild(n, "lun"+strconv.Itoa(idx))
	}
	if err := sh.env.LIO.DeleteLUN(li.LUN); err != nil {
		return err
	}
	sh.announce("deleted", path.Join(n.path, "lun"+strconv.Itoa(idx)), fmt.Sprintf("Deleted LUN %d.", idx))
	return nil
}

// ---- portals ----

func cmdPortalCreate(_ context.Context, sh *Shell, n *Node, a Args) error {
	if !a.Given("ip_port") && !sh.opts.JSON {
		sh.printf("Using default IP port %s\n", a.Str("ip_port"))
	}
	if !a.Given("ip_address") && !sh.opts.JSON {
		sh.printf("Binding to INADDR_ANY (0.0.0.0)\n")
	}
	p, err := sh.env.LIO.CreatePortal(n.tpg, a.Str("ip_address"), int(a.Int("ip_port", 3260)))
	if err != nil {
		return err
	}
	name := configfs.PortalName(p.IP, p.Port)
	sh.announce("created", path.Join(n.path, name), "Created network portal "+name+".")
	return nil
}

func cmdPortalDelete(_ context.Context, sh *Shell, n *Node, a Args) error {
	p := configfs.Portal{TPG: n.tpg, IP: strings.Trim(a.Str("ip_address"), "[]"), Port: int(a.Int("ip_port", 0))}
	name := configfs.PortalName(p.IP, p.Port)
	if configfs.ValidName("portal", name) != nil || !sh.env.LIO.Exists(p.Path()) {
		return sh.missingChild(n, name)
	}
	if err := sh.env.LIO.DeletePortal(p); err != nil {
		return err
	}
	sh.announce("deleted", path.Join(n.path, name), "Deleted network portal "+name)
	return nil
}

func portalFlag(attr string) func(context.Context, *Shell, *Node, Args) error {
	return func(_ context.Context, sh *Shell, n *Node, a Args) error {
		v := "0"
		if a.Bool("boolean") {
			v = "1"
		}
		if err := sh.env.LIO.WriteAttr(path.Join(n.portal.Path(), attr), v); err != nil {
			return err
		}
		sh.announce("changed", n.path, fmt.Sprintf("%s is now %s.", attr, a.Str("boolean")))
		return nil
	}
}

// ---- ACLs ----

func cmdACLCreate(_ context.Context, sh *Shell, n *Node, a Args) error {
	acl, err := sh.env.LIO.CreateACL(n.tpg, a.Str("wwn"))
	if err != nil {
		return err
	}
	p := path.Join(n.path, acl.NodeWWN)
	sh.announce("created", p, "Created Node ACL for "+acl.NodeWWN)
	addMapped := sh.prefs.Bool("auto_add_mapped_luns")
	if a.Given("add_mapped_luns") {
		addMapped = a.Bool("add_mapped_luns")
	}
	if addMapped {
		luns, err := sh.env.LIO.LUNIndexes(n.tpg)
		if err != nil {
			return err
		}
		used := map[int]bool{}
		for _, lun := range luns {
			m, err := sh.store().MapIntoACL(acl, lun, used)
			if err != nil {
				return err
			}
			if !sh.opts.JSON {
				sh.printf("Created Mapped LUN %d.\n", m.Index)
			}
		}
	}
	sh.afterCreate(p)
	return nil
}

func cmdACLDelete(_ context.Context, sh *Shell, n *Node, a Args) error {
	acls, err := sh.tagged(n, a.Str("wwn"))
	if err != nil {
		return err
	}
	for _, acl := range acls {
		if err := sh.env.LIO.DeleteACL(acl); err != nil {
			return err
		}
		sh.announce("deleted", path.Join(n.path, acl.NodeWWN), "Deleted Node ACL "+acl.NodeWWN+".")
	}
	return nil
}

// cmdACLTag tags the ACLs wwn_or_tag names. As in targetcli-fb, an ACL
// joining a tag that has other members takes their configuration: their
// mapped LUNs replace its own, and their auth, attributes and parameters.
func cmdACLTag(_ context.Context, sh *Shell, n *Node, a Args) error {
	newTag := a.Str("new_tag")
	if strings.Contains(newTag, ".") {
		return usagef("tag: %q: a tag has no '.' (every WWN has one; a tag must not look like one)", newTag)
	}
	src, err := sh.tagged(n, a.Str("wwn_or_tag"))
	if err != nil {
		return err
	}
	var model *configfs.ACL
	if others, err := sh.tagged(n, newTag); err == nil {
		for i := range others {
			if !slices.ContainsFunc(src, func(x configfs.ACL) bool { return x.NodeWWN == others[i].NodeWWN }) {
				model = &others[i]
				break
			}
		}
	}
	for _, acl := range src {
		if model != nil {
			if err := sh.store().CopyACL(*model, acl); err != nil {
				return fmt.Errorf("tag %s: taking %s's configuration into %s: %w", newTag, model.NodeWWN, acl.NodeWWN, err)
			}
		}
		if err := sh.writeTag(acl, newTag); err != nil {
			return err
		}
	}
	return nil
}

func cmdACLUntag(_ context.Context, sh *Shell, n *Node, a Args) error {
	acls, err := sh.tagged(n, a.Str("wwn_or_tag"))
	if err != nil {
		return err
	}
	for _, acl := range acls {
		if err := sh.writeTag(acl, "NULL"); err != nil {
			return err
		}
	}
	return nil
}

func cmdACLSelfTag(_ context.Context, sh *Shell, n *Node, a Args) error {
	return sh.writeTag(n.acl, a.Str("new_tag"))
}

func (sh *Shell) writeTag(acl configfs.ACL, tag string) error {
	if err := sh.env.LIO.WriteAttr(path.Join(acl.Path(), "tag"), tag); err != nil {
		return err
	}
	if tag == "NULL" {
		sh.announce("untagged", acl.NodeWWN, "Removed the tag of "+acl.NodeWWN+".")
	} else {
		sh.announce("tagged", acl.NodeWWN, "Tagged "+acl.NodeWWN+" as "+tag+".")
	}
	return nil
}

func cmdMappedLUNCreate(_ context.Context, sh *Shell, n *Node, a Args) error {
	arg := a.Str("tpg_lun_or_backstore")
	var tpgLUN int
	if x, err := strconv.Atoi(strings.TrimPrefix(arg, "lun")); err == nil && x >= 0 {
		tpgLUN = x
	} else {
		bs, err := sh.Resolve(arg)
		if err != nil {
			return err
		}
		if bs.kind != kindStorageObject {
			return usagef("tpg_lun_or_backstore: %s is neither a LUN index nor a storage object", arg)
		}
		luns, err := sh.env.LIO.LUNs(n.tpg)
		if err != nil {
			return err
		}
		tpgLUN = -1
		for _, l := range luns {
			if l.Linked && l.Storage == bs.so {
				tpgLUN = l.Index
				break
			}
		}
		if tpgLUN < 0 {
			return usagef("tpg_lun_or_backstore: %s is not exported by this TPG; create a LUN for it first", bs.path)
		}
	}
	ml, err := sh.env.LIO.CreateMappedLUN(n.acl, int(a.Int("mapped_lun", 0)), tpgLUN, a.Bool("write_protect"))
	if err != nil {
		return err
	}
	p := path.Join(n.path, "mapped_lun"+strconv.Itoa(ml.Index))
	sh.announce("created", p, fmt.Sprintf("Created Mapped LUN %d.", ml.Index))
	return nil
}

func cmdMappedLUNDelete(_ context.Context, sh *Shell, n *Node, a Args) error {
	idx := int(a.Int("mapped_lun", 0))
	mi, found, err := sh.env.LIO.MappedLUNAt(n.acl, idx)
	if err != nil {
		return err
	}
	if !found {
		return sh.missingChild(n, "mapped_lun"+strconv.Itoa(idx))
	}
	if err := sh.env.LIO.DeleteMappedLUN(mi.MappedLUN); err != nil {
		return err
	}
	sh.announce("deleted", path.Join(n.path, "mapped_lun"+strconv.Itoa(idx)), fmt.Sprintf("Deleted Mapped LUN %d.", idx))
	return nil
}

// authAliases maps targetcli's auth and discovery_auth parameter names
// (enable, mutual_userid, mutual_password) to the configfs files.
// groupKeyAlias maps a key targetcli-fb's group uses to the configfs
// attribute it stands for: a LUN's alua group calls alua_tg_pt_gp
// alua_tg_pt_gp_name (`set alua alua_tg_pt_gp_name=…`, as in
// saveconfig.json).
func groupKeyAlias(group, key string) string {
	if group == "alua" && key == "alua_tg_pt_gp_name" {
		return "alua_tg_pt_gp"
	}
	return key
}

func authAliases(group string, pairs []KV) []KV {
	if group != "auth" && group != "discovery_auth" && group != "alua" {
		return pairs
	}
	out := make([]KV, len(pairs))
	for i, kv := range pairs {
		kv.Key = groupKeyAlias(group, kv.Key)
		switch kv.Key {
		case "mutual_userid":
			kv.Key = "userid_mutual"
		case "mutual_password":
			kv.Key = "password_mutual"
		case "enable":
			if group == "discovery_auth" {
				kv.Key = "enforce_discovery_auth"
			}
		}
		out[i] = kv
	}
	return out
}
