// Command tcmsh is the admin shell, TUI and userspace storage engine for the
// Linux kernel SCSI target (LIO).
package main

func main() {}
