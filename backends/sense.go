package backends

import (
	"fmt"
	"strconv"
	"strings"
)

// Sense keys the backends use (SPC-4 table 27).
const (
	SenseKeyNotReady       = 0x02
	SenseKeyMediumError    = 0x03
	SenseKeyHardwareError  = 0x04
	SenseKeyDataProtect    = 0x07
	SenseKeyAbortedCommand = 0x0b
)

// errWriteProtected is the cause given with DATA PROTECT for writes to a
// read-only backend.
var errWriteProtected = fmt.Errorf("backend is read-only")

// writeProtected returns DATA PROTECT / WRITE PROTECTED (07/27/00), the
// sense for a write to a read-only backend.
func writeProtected() error {
	return &SenseError{Key: SenseKeyDataProtect, ASC: 0x27, ASCQ: 0x00, Err: errWriteProtected}
}

// senseChoice is a sense to inject, which may differ for reads and writes
// (a medium error is UNRECOVERED READ ERROR on a read, WRITE ERROR on a
// write).
type senseChoice struct {
	read, write SenseError
}

// namedSenses are the names `sense=` accepts.
var namedSenses = []struct {
	name   string
	choice senseChoice
	about  string
}{
	{"medium", senseChoice{
		read:  SenseError{Key: SenseKeyMediumError, ASC: 0x11, ASCQ: 0x00},
		write: SenseError{Key: SenseKeyMediumError, ASC: 0x0c, ASCQ: 0x00},
	}, "MEDIUM ERROR: UNRECOVERED READ ERROR (03/11/00) or WRITE ERROR (03/0c/00)"},
	{"hardware", sameSense(SenseError{Key: SenseKeyHardwareError, ASC: 0x44, ASCQ: 0x00}),
		"HARDWARE ERROR: INTERNAL TARGET FAILURE (04/44/00)"},
	{"not_ready", sameSense(SenseError{Key: SenseKeyNotReady, ASC: 0x04, ASCQ: 0x00}),
		"NOT READY: LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE (02/04/00)"},
	{"write_protect", sameSense(SenseError{Key: SenseKeyDataProtect, ASC: 0x27, ASCQ: 0x00}),
		"DATA PROTECT: WRITE PROTECTED (07/27/00)"},
	{"aborted", sameSense(SenseError{Key: SenseKeyAbortedCommand, ASC: 0x08, ASCQ: 0x00}),
		"ABORTED COMMAND: LOGICAL UNIT COMMUNICATION FAILURE (0b/08/00); initiators retry it"},
}

func sameSense(s SenseError) senseChoice { return senseChoice{read: s, write: s} }

func senseNames() string {
	names := make([]string, len(namedSenses))
	for i, s := range namedSenses {
		names[i] = s.name
	}
	return strings.Join(names, ", ")
}

// parseSense accepts a name from namedSenses or a raw KEY/ASC/ASCQ triple
// in hex (3/11/0, 0x03/0x11/0x00).
func (o option) parseSense() (senseChoice, error) {
	if err := o.needValue("medium"); err != nil {
		return senseChoice{}, err
	}
	v := strings.ToLower(o.value)
	for _, s := range namedSenses {
		if v == s.name {
			return s.choice, nil
		}
	}
	bad := fmt.Errorf("option %q: %q is not a sense name (%s) or KEY/ASC/ASCQ in hex (e.g. 3/11/0)", o.key, o.value, senseNames())
	parts := strings.Split(v, "/")
	if len(parts) != 3 {
		return senseChoice{}, bad
	}
	var fields [3]byte
	for i, p := range parts {
		n, err := strconv.ParseUint(strings.TrimPrefix(p, "0x"), 16, 8)
		if err != nil || p == "" {
			return senseChoice{}, bad
		}
		fields[i] = byte(n)
	}
	if fields[0] > 0x0f {
		return senseChoice{}, fmt.Errorf("option %q: sense key 0x%x is out of range (0 to f)", o.key, fields[0])
	}
	if fields[0] == 0 {
		return senseChoice{}, fmt.Errorf("option %q: sense key 0 is NO SENSE, which is not an error", o.key)
	}
	return sameSense(SenseError{Key: fields[0], ASC: fields[1], ASCQ: fields[2]}), nil
}
