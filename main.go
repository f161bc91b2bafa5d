// Command tcmsh is the admin shell, TUI and userspace storage engine for the
// Linux kernel SCSI target (LIO).
package main

import (
	"io"
	"os"

	"github.com/tcmsh/tcmsh/cli"
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run is the whole command line (package cli), kept here for main's tests.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Run(args, stdin, stdout, stderr)
}
