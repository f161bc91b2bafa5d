package scsi_test

import (
	"fmt"

	"github.com/tcmsh/tcmsh/backends"
	"github.com/tcmsh/tcmsh/scsi"
)

// sliceBackend is a minimal backends.Backend over a byte slice.
type sliceBackend []byte

func (s sliceBackend) ReadAt(p []byte, off int64) (int, error)  { return copy(p, s[off:]), nil }
func (s sliceBackend) WriteAt(p []byte, off int64) (int, error) { return copy(s[off:], p), nil }
func (s sliceBackend) Flush() error                             { return nil }
func (s sliceBackend) Size() int64                              { return int64(len(s)) }
func (s sliceBackend) Caps() backends.Caps                      { return backends.Caps{} }
func (s sliceBackend) Close() error                             { return nil }

func ExampleDisk_Execute() {
	disk, err := scsi.NewDisk(scsi.DiskConfig{BlockSize: 512, WriteCache: true, UnitSerial: "0123abcd"}, make(sliceBackend, 1<<20))
	if err != nil {
		fmt.Println(err)
		return
	}
	// READ CAPACITY(10) into one data-in buffer.
	buf := make([]byte, 8)
	cmd := &scsi.Command{CDB: []byte{0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, Data: [][]byte{buf}}
	disk.Execute(cmd)
	fmt.Printf("status %#x, %d bytes: % x\n", cmd.Status, cmd.ReadLen, buf)

	// A READ(10) past the end is refused with sense data.
	cmd = &scsi.Command{CDB: []byte{0x28, 0, 0, 0, 0x08, 0, 0, 0, 1, 0}, Data: [][]byte{make([]byte, 512)}}
	disk.Execute(cmd)
	fmt.Printf("status %#x, sense key %#x asc %#02x\n", cmd.Status, cmd.Sense[2]&0x0f, cmd.Sense[12])
	// Output:
	// status 0x0, 8 bytes: 00 00 07 ff 00 00 02 00
	// status 0x2, sense key 0x5 asc 0x21
}
