// Command cheader prints the offsets and sizes of the TCMU structures and
// the values of its constants as the system's linux/target_core_user.h
// declares them, one "name value" per line, for the layout test of package
// tcmu. It lives under testdata because the go command refuses cgo in
// _test.go files; all values are computed by the C compiler.
package main

/*
#include <stddef.h>
#include <linux/target_core_user.h>

struct layout_value { const char *name; unsigned long long value; };

#define OFF(type, field) { #type "." #field, offsetof(struct type, field) }
#define SIZE(type) { "sizeof(" #type ")", sizeof(struct type) }
#define CONST(c) { #c, (unsigned long long)(c) }

static const struct layout_value layout_values[] = {
	CONST(TCMU_MAILBOX_VERSION),
	CONST(TCMU_MAILBOX_FLAG_CAP_OOOC),
	CONST(TCMU_MAILBOX_FLAG_CAP_READ_LEN),
	CONST(TCMU_MAILBOX_FLAG_CAP_TMR),
	CONST(TCMU_MAILBOX_FLAG_CAP_KEEP_BUF),
	SIZE(tcmu_mailbox),
	OFF(tcmu_mailbox, version),
	OFF(tcmu_mailbox, flags),
	OFF(tcmu_mailbox, cmdr_off),
	OFF(tcmu_mailbox, cmdr_size),
	OFF(tcmu_mailbox, cmd_head),
	OFF(tcmu_mailbox, cmd_tail),
	CONST(TCMU_OP_PAD),
	CONST(TCMU_OP_CMD),
	CONST(TCMU_OP_TMR),
	CONST(TCMU_OP_MASK),
	CONST(TCMU_OP_ALIGN_SIZE),
	CONST(TCMU_UFLAG_UNKNOWN_OP),
	CONST(TCMU_UFLAG_READ_LEN),
	CONST(TCMU_UFLAG_KEEP_BUF),
	SIZE(tcmu_cmd_entry_hdr),
	OFF(tcmu_cmd_entry_hdr, len_op),
	OFF(tcmu_cmd_entry_hdr, cmd_id),
	OFF(tcmu_cmd_entry_hdr, kflags),
	OFF(tcmu_cmd_entry_hdr, uflags),
	SIZE(tcmu_cmd_entry),
	OFF(tcmu_cmd_entry, req.iov_cnt),
	OFF(tcmu_cmd_entry, req.iov_bidi_cnt),
	OFF(tcmu_cmd_entry, req.iov_dif_cnt),
	OFF(tcmu_cmd_entry, req.cdb_off),
	OFF(tcmu_cmd_entry, req.iov),
	OFF(tcmu_cmd_entry, rsp.scsi_status),
	OFF(tcmu_cmd_entry, rsp.read_len),
	OFF(tcmu_cmd_entry, rsp.sense_buffer),
	CONST(TCMU_SENSE_BUFFERSIZE),
	SIZE(iovec),
	OFF(iovec, iov_base),
	OFF(iovec, iov_len),
	SIZE(tcmu_tmr_entry),
	OFF(tcmu_tmr_entry, tmr_type),
	OFF(tcmu_tmr_entry, cmd_cnt),
	OFF(tcmu_tmr_entry, cmd_ids),
	CONST(TCMU_TMR_ABORT_TASK),
	CONST(TCMU_TMR_ABORT_TASK_SET),
	CONST(TCMU_TMR_CLEAR_ACA),
	CONST(TCMU_TMR_CLEAR_TASK_SET),
	CONST(TCMU_TMR_LUN_RESET),
	CONST(TCMU_TMR_TARGET_WARM_RESET),
	CONST(TCMU_TMR_TARGET_COLD_RESET),
	CONST(TCMU_TMR_LUN_RESET_PRO),
};

static int layout_count(void) { return sizeof(layout_values) / sizeof(layout_values[0]); }
static const char *layout_name(int i) { return layout_values[i].name; }
static unsigned long long layout_value(int i) { return layout_values[i].value; }
*/
import "C"

import "fmt"

func main() {
	for i := C.int(0); i < C.layout_count(); i++ {
		fmt.Printf("%s %d\n", C.GoString(C.layout_name(i)), uint64(C.layout_value(i)))
	}
}
