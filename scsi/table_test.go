package scsi

import (
	"testing"

	"github.com/tcmsh/tcmsh/backends"
)

// field is an expected sense-key-specific field pointer.
type field struct {
	inCDB     bool
	byteIndex int
	bit       int
}

// cmdCase is one command against a fresh disk (64 blocks of 512 bytes
// unless blocks says otherwise) and what must come back.
type cmdCase struct {
	name   string
	caps   backends.Caps
	edit   func(*DiskConfig)
	blocks int64
	setup  func(t *testing.T, d *Disk, m *memBackend)
	cdb    []byte
	out    []byte // data-out
	in     int    // size of the data-in buffer
	// want CHECK CONDITION with this sense when key or asc is set
	key, asc, ascq byte
	field          *field
	info           *uint64
	check          func(t *testing.T, data []byte, cmd *Command, m *memBackend)
}

func runCases(t *testing.T, cases []cmdCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			blocks := tc.blocks
			if blocks == 0 {
				blocks = 64
			}
			d, m := newTestDisk(t, blocks, tc.caps, tc.edit)
			if tc.setup != nil {
				tc.setup(t, d, m)
			}
			var cmd *Command
			var data []byte
			switch {
			case tc.out != nil:
				cmd = run(d, 0, tc.cdb, tc.out)
			default:
				cmd, data = runIn(d, tc.cdb, tc.in)
			}
			if tc.key != 0 || tc.asc != 0 {
				p := wantCheck(t, cmd, tc.key, tc.asc, tc.ascq)
				if tc.field != nil {
					wantField(t, p, tc.field.inCDB, tc.field.byteIndex, tc.field.bit)
				}
				if tc.info != nil {
					if !p.infoValid || p.info != *tc.info {
						t.Fatalf("information valid=%v %d, want %d", p.infoValid, p.info, *tc.info)
					}
				}
			} else {
				wantGood(t, cmd)
			}
			if tc.check != nil {
				tc.check(t, data, cmd, m)
			}
		})
	}
}

func u64(v uint64) *uint64 { return &v }
