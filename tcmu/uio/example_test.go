package uio_test

import (
	"errors"
	"fmt"
	"io/fs"
	"log"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/tcmu/uio"
)

// List the TCMU devices, say which ones tcmu-runner serves, and open the
// others.
func Example() {
	devs, err := uio.Scan("")
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Println("no uio devices:", err)
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	runners, _ := uio.FindRunners("", "")
	fsys := configfs.NewRealFS("/sys/kernel/config")
	for _, info := range devs {
		if info.Err != nil {
			fmt.Println(info.UIO, info.Err)
			continue
		}
		if r, ok := uio.HeldBy(runners, info.Minor); ok {
			fmt.Printf("%s (%s) is served by %v\n", info.UIO, info.ConfigPath(), r)
			continue
		}
		attrs, err := uio.ReadAttributes(fsys, info.ConfigPath())
		if err != nil {
			log.Fatal(err)
		}
		// Reattach resets whatever an earlier handler left in the ring.
		dev, err := uio.Reattach(fsys, info, "")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s, %d bytes of %d-byte blocks, region %d bytes\n",
			info.UIO, info.Subtype, attrs.Size, attrs.BlockSize, len(dev.Region()))
		// Hand dev to tcmu.NewRing; Ring.Run closes it.
		dev.Close()
	}
}
