// Package config is the LIO configuration as data: the saveconfig.json
// model (Config and its parts), reading it from the kernel (Snapshot),
// parsing and writing targetcli-fb's file (ParseSaveconfig,
// MarshalSaveconfig), and changing the kernel to match one (MakePlan,
// Apply, Restore, Rollback), including per-plugin backstore creation.
//
// Everything works on a Store: the LIO model over the real or simulated
// kernel, Hooks through which user backstores are served and released by
// the TCMU engine, and an Undo log of what a run changes outside configfs.
// How apply works: apply.go (Store.Apply) over plan.go (MakePlan).
//
// This package knows nothing of the shell or the TUI; both call it.
package config

// Config is a whole LIO configuration in the terms of targetcli-fb's
// saveconfig.json. It is what saveconfig writes, restoreconfig and apply
// read, and what --atomic snapshots.
type Config struct {
	StorageObjects []*SOConf
	Targets        []*TargetConf
	FabricModules  []*FabricConf
	// Skipped names objects that could not be read (warnings for saveconfig).
	Skipped []string
	// unmanaged holds the /backstores paths of the storage objects that
	// Snapshot could not read: plans never delete them.
	unmanaged map[string]bool
}

// SOConf is one storage object.
type SOConf struct {
	Name   string
	Plugin string // fileio, block, pscsi, ramdisk, user
	// Attributes are the writable attrib/ values, as the kernel shows them.
	Attributes   map[string]string
	ALUA         []*ALUAConf
	WWN          string
	Dev          string
	Size         int64
	WriteBack    bool
	AIO          bool
	Readonly     bool
	Nullio       bool
	Config       string // user: subtype/cfgstring
	HwMaxSectors int
	Control      string
}

// ALUAConf is one ALUA target port group of a storage object.
type ALUAConf struct {
	Name   string
	Fields map[string]string // tg_pt_gp_id, alua_access_state, …
}

// TargetConf is one target.
type TargetConf struct {
	Fabric, WWN string
	// Parameters are the target-wide <fabric>/<wwn>/param/ values
	// (cmd_completion_affinity on 6.x kernels), as targetcli-fb 2.1.53
	// saves them.
	Parameters map[string]string
	TPGs       []*TPGConf
}

// TPGConf is one TPG.
type TPGConf struct {
	Tag    int
	Enable bool
	// Nexus is the loopback/vhost initiator: not in saveconfig.json (as
	// targetcli), kept so that --atomic and apply put the same one back.
	Nexus      string
	Attributes map[string]string
	Parameters map[string]string
	Auth       map[string]string // chap_userid, chap_password, chap_mutual_userid, chap_mutual_password
	LUNs       []*LUNConf
	Portals    []*PortalConf
	ACLs       []*ACLConf
}

// LUNConf is one TPG LUN.
type LUNConf struct {
	Index         int
	StorageObject string // /backstores/<plugin>/<name>
	Alias         string
	ALUAGroup     string
}

// PortalConf is one network portal.
type PortalConf struct {
	IP            string
	Port          int
	ISER, Offload bool
}

// ACLConf is one node ACL.
type ACLConf struct {
	WWN        string
	Tag        string
	Attributes map[string]string
	Auth       map[string]string
	MappedLUNs []*MappedLUNConf
}

// MappedLUNConf is one mapped LUN of an ACL.
type MappedLUNConf struct {
	Index, TPGLUN int
	WriteProtect  bool
	Alias         string
}

// FabricConf is a fabric module's discovery authentication.
type FabricConf struct {
	Name string
	Auth map[string]string // discovery_enable_auth ("true"/"false"), discovery_userid, …
}

// authFiles maps saveconfig's chap_* keys to auth/ files.
var authFiles = []struct{ Key, File string }{
	{"chap_userid", "userid"}, {"chap_password", "password"},
	{"chap_mutual_userid", "userid_mutual"}, {"chap_mutual_password", "password_mutual"},
}

// discoveryFiles maps saveconfig's discovery_* keys to discovery_auth/ files.
var discoveryFiles = []struct{ Key, File string }{
	{"discovery_enable_auth", "enforce_discovery_auth"},
	{"discovery_userid", "userid"}, {"discovery_password", "password"},
	{"discovery_mutual_userid", "userid_mutual"}, {"discovery_mutual_password", "password_mutual"},
}

// soPath is the targetcli path a LUN's storage_object names.
func soPath(plugin, name string) string { return "/backstores/" + plugin + "/" + name }
