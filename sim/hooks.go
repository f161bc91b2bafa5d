package sim

// UIODevice is the uio device the kernel creates when a `user` backstore is
// enabled: /dev/uio<Minor>, named "tcm-user/<hba>/<name>/<dev_config>".
type UIODevice struct {
	Minor int
	// Name is the uio name, as in /sys/class/uio/uioN/name.
	Name string
	// ConfigPath is the backstore's configfs path, "target/core/user_<hba>/<name>".
	ConfigPath string
	// MapSize is the size of the shared region (maps/map0/size).
	MapSize uint64
	// The control values in force when the device was enabled.
	DevSize         uint64
	DevConfig       string
	HwBlockSize     uint32
	HwMaxSectors    uint32
	MaxDataAreaMB   uint32
	DataPagesPerBlk uint32
	CmdRingSizeMB   uint32
	// NlReplySupported is attrib/nl_reply_supported: a device with -1
	// never waits for a netlink reply.
	NlReplySupported int
	// WriteCache is attrib/emulate_write_cache of a user backstore.
	WriteCache bool
}

// UserDeviceHooks receives the events a TCMU kernel module would act on. The
// simulated kernel calls them with its own lock released; an error returned
// by a hook fails the configfs write that caused it, with that error.
type UserDeviceHooks interface {
	// Added is called when a user backstore is enabled (its uio device appears).
	Added(dev UIODevice) error
	// Removed is called before the device of a user backstore disappears.
	Removed(dev UIODevice)
	// Reconfig is called when dev_size, dev_config or emulate_write_cache
	// is written on an enabled device (attribute is the file's name).
	Reconfig(dev UIODevice, attribute, value string) error
	// Action is called for writes to action/block_dev, action/reset_ring and
	// action/free_kept_buf.
	Action(dev UIODevice, action string, value int) error
}
