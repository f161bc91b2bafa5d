package shell

import "context"

// commandTable is the command table, in one place: the commands every
// node has, in the order help lists them, then those that work on the
// whole configuration from any node (saveconfig and friends, as in
// targetcli). A node's own commands (create, delete, enable, …) come
// from its kind (nodeCommands). New makes the table once per Shell: it is
// not a package variable because help, in the table, reads the table.
func commandTable() []*Command {
	savefile := Param{Name: "savefile", Type: TypePath, Help: "default: " + DefaultSaveFile}
	return []*Command{
		{Name: "ls", Summary: "Show the tree below a node (the current one by default), to depth levels.",
			Params: []Param{{Name: "path", Type: TypeNode}, {Name: "depth", Type: TypeInt, Min: 0}}, Run: cmdLs},
		{Name: "cd", Summary: "Go to a node: a path, `..`, `/`, `-` (the previous node), `<` or `>` (back and forward in history), or @bookmark.",
			Params: []Param{{Name: "path", Type: TypeNode, Default: "/"}}, Run: cmdCd},
		{Name: "pwd", Summary: "Print the current path.", Run: func(_ context.Context, sh *Shell, _ *Node, _ Args) error {
			if sh.opts.JSON {
				return sh.printJSON(map[string]string{"path": sh.cwd})
			}
			sh.printf("%s\n", sh.cwd)
			return nil
		}},
		{Name: "info", Summary: "Show what the kernel reports about the node.", Run: cmdInfo},
		{Name: "status", Summary: "Show the node's status line (what ls shows after it).", Run: cmdStatus},
		{Name: "refresh", Summary: "Forget remembered state and read the kernel again.", Run: func(_ context.Context, sh *Shell, _ *Node, _ Args) error {
			sh.env.LIO.Refresh()
			return nil
		}},
		{Name: "get", Summary: "Show a node's configuration groups (attribute, parameter, auth, discovery_auth, alua, wwn, global), or named values of one group.",
			Params: []Param{{Name: "group", Type: TypeString}}, Variadic: true, Run: cmdGet},
		{Name: "set", Summary: "Change values of a configuration group. All values are applied, or none.",
			Params: []Param{{Name: "group", Type: TypeString, Required: true}}, FreeKeys: true, Run: cmdSet},
		{Name: "bookmarks", Summary: "Manage bookmarks: add NAME (the current node), del NAME, go NAME, show.",
			Params: []Param{{Name: "action", Type: TypeEnum, Enum: []string{"add", "del", "go", "show"}, Default: "show"}, {Name: "bookmark", Type: TypeName}}, Run: cmdBookmarks},
		{Name: "version", Summary: "Show tcmsh's version and the kernel it works on.", Run: cmdVersion},
		{Name: "help", Summary: "List the commands of this node, or explain one.", Params: []Param{{Name: "topic", Type: TypeString}}, Run: cmdHelp},
		{Name: "exit", Summary: "Leave the shell.", Run: func(context.Context, *Shell, *Node, Args) error { return ErrExit }},
		{Name: "sessions", Summary: "List the initiators logged in (per ACL, and demo-mode ones without an ACL), or with their details (detail).",
			Params: []Param{{Name: "action", Type: TypeEnum, Enum: []string{"list", "detail"}, Default: "list"}, {Name: "sid", Type: TypeString}}, Run: cmdSessions},
		{Name: "stats", Summary: "Show the TCMU engine's statistics of the user backstores below a path.",
			Params: []Param{{Name: "path", Type: TypeNode}}, Run: cmdStats},
		workloadCommand, sleepCommand, dumpCommand, uiCommand, monitorCommand,
		{Name: "saveconfig", Summary: "Save the configuration in targetcli-fb's saveconfig.json format.",
			Help:   "The file is replaced atomically (mode 0600). Saving to the default file keeps a gzip backup of the previous content in backup/ beside it, up to max_backup_files. An empty configuration does not replace a non-empty file unless force=true. Storage objects that cannot be read are skipped with a warning.",
			Params: []Param{savefile, {Name: "force", Type: TypeBool, Default: "false"}}, Run: cmdSaveconfig},
		{Name: "restoreconfig", Summary: "Restore a saved configuration; the whole file is checked first and applied all or nothing.",
			Params: []Param{savefile, {Name: "clear_existing", Type: TypeBool, Default: "false"},
				{Name: "target", Type: TypeString, Help: "restore only this target's WWN"}, {Name: "storage_object", Type: TypeString, Help: "restore only this storage object"},
				{Name: "partial", Type: TypeBool, Default: "false", Help: "restore what can be restored, object by object (as at boot), and report each failure by its JSON path; the command still fails when anything did"},
				{Name: "wait_devices", Type: TypeInt, Default: "0", Max: 3600, Help: "with partial=true: seconds to wait for missing /dev paths (a zvol or multipath device not there yet) before restoring without them"}},
			Run: cmdRestoreconfig},
		{Name: "clearconfig", Summary: "Delete every target and storage object (confirm=true).",
			Params: []Param{{Name: "confirm", Type: TypeBool, Default: "false"}}, Run: cmdClearconfig},
		{Name: "diff", Summary: "Show what apply would change to make the kernel match a saveconfig.json file, without changing anything.",
			Params: []Param{{Name: "file", Type: TypePath, Required: true}}, Run: cmdDiff},
		{Name: "apply", Summary: "Make the kernel match a saveconfig.json file (declarative, all or nothing); applying it again changes nothing.",
			Params: []Param{{Name: "file", Type: TypePath, Required: true}}, Run: cmdApply},
		{Name: "export", Summary: "Export a file or block device over iSCSI in one step: backstore, target, TPG 1, LUN 0, portal, open access.",
			Params: []Param{{Name: "file_or_dev", Type: TypePath, Required: true}, {Name: "portal", Type: TypeString, Default: "0.0.0.0:3260"},
				{Name: "wwn", Type: TypeWWN, Help: "the target IQN; generated when not given"}, {Name: "size", Type: TypeSize, Help: "create the file with this size when it does not exist"}},
			Run: cmdExport},
		{Name: "unexport", Summary: "Undo export: delete the iSCSI targets exporting a file or device (or the target given by its IQN) and its backstore.",
			Params: []Param{{Name: "file_dev_or_wwn", Type: TypeString, Required: true}}, Run: cmdUnexport},
	}
}
