//go:build cgo

package tcmu

import (
	"bufio"
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestLayoutMatchesKernelHeader compiles testdata/cheader against the
// system's linux/target_core_user.h (Debian: linux-libc-dev) and checks
// every offset, size and constant of layout.go against it. cgo cannot be
// used in a _test.go file, so the C side is a small cgo program run here.
func TestLayoutMatchesKernelHeader(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a cgo program")
	}
	// go test puts its own GOROOT/bin first in PATH.
	cmd := exec.Command("go", "run", "./testdata/cheader")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := stderr.String()
		for _, missing := range []string{".h: No such file", "C compiler", "gcc", "cc1", "executable file not found"} {
			if strings.Contains(msg, missing) || strings.Contains(err.Error(), missing) {
				t.Skipf("no cgo toolchain or kernel header here: %v\n%s", err, msg)
			}
		}
		t.Fatalf("go run ./testdata/cheader: %v\n%s", err, msg)
	}
	header := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			t.Fatalf("bad line %q", sc.Text())
		}
		v, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		header[name] = v
	}
	ours := map[string]uint64{
		"TCMU_MAILBOX_VERSION":            MailboxVersion,
		"TCMU_MAILBOX_FLAG_CAP_OOOC":      FlagCapOOOC,
		"TCMU_MAILBOX_FLAG_CAP_READ_LEN":  FlagCapReadLen,
		"TCMU_MAILBOX_FLAG_CAP_TMR":       FlagCapTMR,
		"TCMU_MAILBOX_FLAG_CAP_KEEP_BUF":  FlagCapKeepBuf,
		"sizeof(tcmu_mailbox)":            MailboxSize,
		"tcmu_mailbox.version":            MailboxVersionOff,
		"tcmu_mailbox.flags":              MailboxFlagsOff,
		"tcmu_mailbox.cmdr_off":           MailboxCmdrOffOff,
		"tcmu_mailbox.cmdr_size":          MailboxCmdrSizeOff,
		"tcmu_mailbox.cmd_head":           MailboxCmdHeadOff,
		"tcmu_mailbox.cmd_tail":           MailboxCmdTailOff,
		"TCMU_OP_PAD":                     OpPad,
		"TCMU_OP_CMD":                     OpCmd,
		"TCMU_OP_TMR":                     OpTMR,
		"TCMU_OP_MASK":                    OpMask,
		"TCMU_OP_ALIGN_SIZE":              EntryAlign,
		"TCMU_UFLAG_UNKNOWN_OP":           UFlagUnknownOp,
		"TCMU_UFLAG_READ_LEN":             UFlagReadLen,
		"TCMU_UFLAG_KEEP_BUF":             UFlagKeepBuf,
		"sizeof(tcmu_cmd_entry_hdr)":      EntryHeaderSize,
		"tcmu_cmd_entry_hdr.len_op":       HdrLenOpOff,
		"tcmu_cmd_entry_hdr.cmd_id":       HdrCmdIDOff,
		"tcmu_cmd_entry_hdr.kflags":       HdrKFlagsOff,
		"tcmu_cmd_entry_hdr.uflags":       HdrUFlagsOff,
		"sizeof(tcmu_cmd_entry)":          CmdEntrySize,
		"tcmu_cmd_entry.req.iov_cnt":      ReqIovCntOff,
		"tcmu_cmd_entry.req.iov_bidi_cnt": ReqIovBidiCntOff,
		"tcmu_cmd_entry.req.iov_dif_cnt":  ReqIovDifCntOff,
		"tcmu_cmd_entry.req.cdb_off":      ReqCdbOffOff,
		"tcmu_cmd_entry.req.iov":          ReqIovOff,
		"tcmu_cmd_entry.rsp.scsi_status":  RspStatusOff,
		"tcmu_cmd_entry.rsp.read_len":     RspReadLenOff,
		"tcmu_cmd_entry.rsp.sense_buffer": RspSenseOff,
		"TCMU_SENSE_BUFFERSIZE":           SenseBufferSize,
		"sizeof(iovec)":                   IovecSize,
		"iovec.iov_base":                  IovecBaseOff,
		"iovec.iov_len":                   IovecLenOff,
		"sizeof(tcmu_tmr_entry)":          TMREntrySize,
		"tcmu_tmr_entry.tmr_type":         TMRTypeOff,
		"tcmu_tmr_entry.cmd_cnt":          TMRCmdCntOff,
		"tcmu_tmr_entry.cmd_ids":          TMRCmdIDsOff,
		"TCMU_TMR_ABORT_TASK":             TMRAbortTask,
		"TCMU_TMR_ABORT_TASK_SET":         TMRAbortTaskSet,
		"TCMU_TMR_CLEAR_ACA":              TMRClearACA,
		"TCMU_TMR_CLEAR_TASK_SET":         TMRClearTaskSet,
		"TCMU_TMR_LUN_RESET":              TMRLUNReset,
		"TCMU_TMR_TARGET_WARM_RESET":      TMRTargetWarmReset,
		"TCMU_TMR_TARGET_COLD_RESET":      TMRTargetColdReset,
		"TCMU_TMR_LUN_RESET_PRO":          TMRLUNResetPRO,
	}
	for name, want := range header {
		got, ok := ours[name]
		if !ok {
			t.Errorf("%s = %d in the header has no counterpart in layout.go", name, want)
			continue
		}
		if got != want {
			t.Errorf("%s: layout.go has %d, the header %d", name, got, want)
		}
	}
	for name := range ours {
		if _, ok := header[name]; !ok {
			t.Errorf("%s is not checked against the header", name)
		}
	}
	// The response must fit in the smallest CMD entry.
	if RspSenseOff+SenseBufferSize != CmdEntrySize {
		t.Errorf("response view ends at %d, entry base is %d", RspSenseOff+SenseBufferSize, CmdEntrySize)
	}
}
