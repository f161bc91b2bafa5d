package backends

import "fmt"

// SenseError is an error that carries the SCSI sense a backend wants the
// initiator to see (the fault backend injects these). The SCSI layer
// reports it as CHECK CONDITION with this key and additional sense code;
// other errors are mapped by kind (ENOSPC, read or write failure).
type SenseError struct {
	Key  byte // sense key, e.g. 0x03 MEDIUM ERROR
	ASC  byte
	ASCQ byte
	Err  error // optional cause
}

func (e *SenseError) Error() string {
	msg := fmt.Sprintf("sense key 0x%x asc 0x%02x ascq 0x%02x", e.Key, e.ASC, e.ASCQ)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *SenseError) Unwrap() error { return e.Err }
