// Package sim owns the simulated kernel: LIO's configfs as Debian's 6.1
// kernel has it — the tree every mkdir makes, the attributes with their
// permissions and defaults, and the errno of every refusal — so that tcmsh
// runs where no LIO is present. test/FIDELITY.md lists each reproduced
// behaviour with the kernel source it follows.
//
// A Kernel implements configfs.FS. Its state lives in a state directory
// (see journal.go): an append-only journal of operations with checksummed
// records and an atomically replaced snapshot, shared by every process that
// opens the directory. Each operation takes a flock, applies what other
// processes appended since its last look (a stat, then only the new
// records), and appends itself; so no update is lost and the cost of an
// operation does not grow with the configuration.
//
// The kernel side of the TCMU ring lives in sim/ring and attaches through
// UserDeviceHooks. Hooks belong to the process that makes a change; what
// other processes sharing the state directory enable, remove or
// reconfigure reaches Listen's subscribers as the TCM-USER netlink events
// ADDED, REMOVED and RECONFIG (watch.go: a watcher wakes on inotify events
// of the journal, or polls it). Loopback LUNs that the simulated initiator
// sees as disks are listed by LoopbackDisks.
package sim
