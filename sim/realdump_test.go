package sim

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/configfs"
)

// TestRealDump compares the simulation with a dump of a real LIO tree
// taken on Debian's 6.1 kernel (lines "path<TAB>dir|file|link<TAB>mode
// <TAB>content", optionally prefixed with "DUMP<TAB>", content with \n
// escaped and the last newline dropped). Set SIM_REAL_DUMP to the dump's file. The simulation rebuilds
// the dump's configuration (the exploration script of the real-kernel
// test) and every entry is compared: presence, kind, mode and content.
// Entries that depend on real devices (iblock, pscsi hosts, I/O counters,
// times) are listed in realDumpSkips.
func TestRealDump(t *testing.T) {
	file := os.Getenv("SIM_REAL_DUMP")
	if file == "" {
		t.Skip("set SIM_REAL_DUMP to a dump of a real LIO tree")
	}
	real := readDump(t, file)
	k := newKernel(t)
	k.root.meta["hba_index"] = "2" // the real run made and removed rd_mcp_0 first
	tmp := t.TempDir()
	core := "target/core/"
	it := "target/iscsi/iqn.2003-01.org.linux-iscsi.explore:t1/tpgt_1"
	acl := it + "/acls/iqn.1994-05.com.redhat:explore-init"
	lt := "target/loopback/naa.5001405aaaaaaaaa/tpgt_1"
	vt := "target/vhost/naa.5001405ccccccccc/tpgt_1"
	steps := []step{
		{op: "mkdir", a: core + "fileio_0"}, {op: "mkdir", a: core + "fileio_0/fio"},
		{op: "write", a: core + "fileio_0/fio/control", b: "fd_dev_name=" + tmp + "/fio.img,fd_dev_size=16777216"},
		{op: "write", a: core + "fileio_0/fio/enable", b: "1"},
		{op: "write", a: core + "fileio_0/fio/wwn/vpd_unit_serial", b: "8d9ad9cf-a7f6-4b4a-9a1b-1e2c3d4e5f60"},
		{op: "mkdir", a: core + "fileio_1"}, {op: "mkdir", a: core + "fileio_1/fiowb"},
		{op: "write", a: core + "fileio_1/fiowb/control", b: "fd_dev_name=" + tmp + "/fiowb.img,fd_dev_size=16777216,fd_buffered_io=1"},
		{op: "write", a: core + "fileio_1/fiowb/enable", b: "1"},
		{op: "mkdir", a: core + "iblock_2"}, {op: "mkdir", a: core + "iblock_2/blk"},
		{op: "mkdir", a: core + "iblock_3"}, {op: "mkdir", a: core + "iblock_3/blkloop"},
		{op: "mkdir", a: core + "rd_mcp_4"}, {op: "mkdir", a: core + "rd_mcp_4/rd"},
		{op: "write", a: core + "rd_mcp_4/rd/control", b: "rd_pages=4096"},
		{op: "write", a: core + "rd_mcp_4/rd/enable", b: "1"},
		{op: "mkdir", a: core + "rd_mcp_5"}, {op: "mkdir", a: core + "rd_mcp_5/null"},
		{op: "write", a: core + "rd_mcp_5/null/control", b: "rd_pages=4096,rd_nullio=1"},
		{op: "write", a: core + "rd_mcp_5/null/enable", b: "1"},
		{op: "mkdir", a: core + "user_6"}, {op: "mkdir", a: core + "user_6/usr"},
		{op: "write", a: core + "user_6/usr/control", b: "dev_config=demo/x,dev_size=67108864,nl_reply_supported=-1"},
		{op: "write", a: core + "user_6/usr/enable", b: "1"},
		{op: "mkdir", a: core + "pscsi_7"}, {op: "mkdir", a: core + "pscsi_7/pt"},
		{op: "write", a: core + "pscsi_7/pt/control", b: "scsi_host_id=0,scsi_channel_id=0,scsi_target_id=1,scsi_lun_id=0"},
		{op: "mkdir", a: "target/iscsi"}, {op: "mkdir", a: "target/loopback"}, {op: "mkdir", a: "target/vhost"},
		{op: "mkdir", a: "target/iscsi/iqn.2003-01.org.linux-iscsi.explore:t1"}, {op: "mkdir", a: it},
	}
	for _, l := range []string{"0", "1", "2", "3", "4", "5", "6", "7"} {
		steps = append(steps, step{op: "mkdir", a: it + "/lun/lun_" + l})
	}
	steps = append(steps,
		step{op: "mkdir", a: acl},
		step{op: "write", a: acl + "/auth/userid", b: "auser"}, step{op: "write", a: acl + "/auth/password", b: "apass12345678"},
		step{op: "write", a: it + "/auth/userid", b: "tuser"}, step{op: "write", a: it + "/auth/password", b: "tpass"},
		step{op: "write", a: it + "/auth/userid_mutual", b: "muser"}, step{op: "write", a: it + "/auth/password_mutual", b: "mpass"},
		step{op: "link", a: core + "fileio_0/fio", b: it + "/lun/lun_0/fio"},
		step{op: "link", a: core + "fileio_1/fiowb", b: it + "/lun/lun_1/fiowb"},
		step{op: "link", a: core + "rd_mcp_4/rd", b: it + "/lun/lun_4/rd"},
		step{op: "link", a: core + "rd_mcp_5/null", b: it + "/lun/lun_5/null"},
		step{op: "link", a: core + "user_6/usr", b: it + "/lun/lun_6/usr"},
		step{op: "mkdir", a: acl + "/lun_0"},
		step{op: "link", a: it + "/lun/lun_0", b: acl + "/lun_0/mapped"},
		step{op: "mkdir", a: it + "/np/127.0.0.1:3260"}, step{op: "mkdir", a: it + "/np/[::1]:3260"},
		step{op: "mkdir", a: it + "/np/0.0.0.0:3261"},
		step{op: "write", a: it + "/attrib/authentication", b: "1"},
		step{op: "write", a: it + "/enable", b: "1"},
		step{op: "write", a: "target/iscsi/discovery_auth/userid", b: "duser"},
		step{op: "write", a: "target/iscsi/discovery_auth/password", b: "dpass"},
		step{op: "write", a: "target/iscsi/discovery_auth/enforce_discovery_auth", b: "1"},
		step{op: "mkdir", a: "target/loopback/naa.5001405aaaaaaaaa"}, step{op: "mkdir", a: lt},
		step{op: "write", a: lt + "/nexus", b: "naa.5001405bbbbbbbbb"},
		step{op: "mkdir", a: lt + "/lun/lun_0"},
		step{op: "link", a: core + "rd_mcp_4/rd", b: lt + "/lun/lun_0/rd"},
		step{op: "mkdir", a: "target/vhost/naa.5001405ccccccccc"}, step{op: "mkdir", a: vt},
		step{op: "write", a: vt + "/nexus", b: "naa.5001405ddddddddd"},
		step{op: "mkdir", a: vt + "/lun/lun_0"},
		step{op: "link", a: core + "rd_mcp_5/null", b: vt + "/lun/lun_0/null"},
		step{op: "mkdir", a: core + "fileio_0/fio/alua/tgpt1"},
		step{op: "write", a: core + "fileio_0/fio/alua/tgpt1/tg_pt_gp_id", b: "7"},
		step{op: "write", a: it + "/lun/lun_0/alua_tg_pt_gp", b: "tgpt1"},
		step{op: "write", a: core + "fileio_0/fio/alua/tgpt1/alua_access_state", b: "1"},
	)
	run(t, k, steps)

	mine := map[string]dumpEntry{}
	var walk func(p string)
	walk = func(p string) {
		es, err := k.ReadDir(p)
		if err != nil {
			t.Fatalf("readdir %s: %v", p, err)
		}
		for _, e := range es {
			q := p + "/" + e.Name
			d := dumpEntry{kind: map[configfs.EntryKind]string{configfs.KindDir: "dir", configfs.KindAttr: "file", configfs.KindLink: "link"}[e.Kind],
				mode: octal(e.Perm)}
			switch e.Kind {
			case configfs.KindDir:
				mine[q] = d
				walk(q)
				continue
			case configfs.KindAttr:
				if e.Readable() {
					b, err := k.ReadFile(q)
					if err != nil {
						d.content = "READ-ERROR " + configfs.Errno(err).Error()
					} else {
						// As the dump script saw it: NULs dropped, trailing
						// newlines cut, a marker when the last byte was no newline.
						raw := strings.ReplaceAll(string(b), tmp, "/tmp")
						d.content = strings.TrimRight(strings.ReplaceAll(raw, "\x00", ""), "\n")
						if raw != "" && !strings.HasSuffix(raw, "\n") {
							d.content += "(no trailing newline)"
						}
						d.content = strings.ReplaceAll(d.content, "\n", `\n`)
					}
				} else {
					d.content = "READ-ERROR permission denied"
				}
			}
			mine[q] = d
		}
	}
	walk("target")

	var problems []string
	for p, r := range real {
		if skipped(p) {
			continue
		}
		m, ok := mine[p]
		switch {
		case !ok:
			problems = append(problems, "missing  "+p)
		case m.kind != r.kind || m.mode != r.mode:
			problems = append(problems, "kind     "+p+": "+m.kind+" "+m.mode+", real "+r.kind+" "+r.mode)
		case r.kind == "file" && !sameContent(m.content, r.content):
			problems = append(problems, "content  "+p+": "+m.content+"\n             real: "+r.content)
		}
	}
	for p := range mine {
		if _, ok := real[p]; !ok && !skipped(p) {
			problems = append(problems, "extra    "+p)
		}
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
}

type dumpEntry struct{ kind, mode, content string }

func octal(m os.FileMode) string { return strconv.FormatUint(uint64(m.Perm()), 8) }

func readDump(t *testing.T, file string) map[string]dumpEntry {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]dumpEntry{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimPrefix(sc.Text(), "DUMP\t") // console copies carry a marker
		parts := append([]string{"DUMP"}, strings.SplitN(line, "\t", 4)...)
		if len(parts) < 4 {
			continue
		}
		p := strings.TrimPrefix(parts[1], "/sys/kernel/config/")
		if !strings.HasPrefix(p, "target/") {
			continue
		}
		content := ""
		if len(parts) == 5 {
			content = parts[4]
		}
		out[filepath.Clean(p)] = dumpEntry{kind: parts[2], mode: parts[3], content: content}
	}
	return out
}

// realDumpSkips are entries of the dump that depend on the real machine.
var realDumpSkips = []string{
	"iblock_", "lun_2", "lun_3", "pscsi_7/pt/info", "default_lu_gp/members", "/num_cmds",
	"/creation_time", "/in_cmds", "/hs_in_cmds",
}

func skipped(p string) bool {
	for _, s := range realDumpSkips {
		if strings.Contains(p, s) {
			return true
		}
	}
	return false
}

func sameContent(mine, real string) bool {
	if strings.HasPrefix(real, "READ-ERROR") {
		r := strings.ToLower(real)
		switch {
		case strings.Contains(r, "permission denied"):
			return mine == "READ-ERROR permission denied"
		case strings.Contains(r, "no such device"):
			return mine == "READ-ERROR no such device"
		}
		return strings.HasPrefix(mine, "READ-ERROR")
	}
	// Links are compared by kind only; their targets are absolute here.
	return mine == real
}
