//go:build rbd

package rbd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcmsh/tcmsh/backends"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/test/cephtest"
)

func TestMain(m *testing.M) { os.Exit(cephtest.Main(m)) }

const mib = 1 << 20

// newImage creates an image of its own for one test and returns its
// cfgstring.
func newImage(t *testing.T, c *cephtest.Cluster, size int64, opts ...string) string {
	t.Helper()
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	if err := c.CreateImage(name, size); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.RemoveImage(name) })
	return c.CfgString(name, opts...)
}

func openImageT(t *testing.T, cfg string, size int64) *Image {
	t.Helper()
	im, err := Open(cfg, size)
	if err != nil {
		t.Fatalf("Open(%q): %v", cfg, err)
	}
	t.Cleanup(func() { im.Close() })
	return im
}

// writeConf writes a ceph.conf for c with some lines changed.
func writeConf(t *testing.T, c *cephtest.Cluster, edit func(line string) string) string {
	t.Helper()
	data, err := os.ReadFile(c.Conf)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		out = append(out, edit(strings.TrimRight(line, "\n")))
	}
	path := filepath.Join(t.TempDir(), "ceph.conf")
	if err := os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestValidate: a size that does not match the image, and a missing
// image, snapshot, pool, conf, key or monitor, are each named.
func TestValidate(t *testing.T) {
	c := cephtest.Shared(t)
	cfg := newImage(t, c, 8*mib)
	image := strings.Split(strings.Split(cfg, ";")[0], "/")[1]
	opts := ";conf=" + c.Conf + ";id=" + c.ID
	noKeyring := writeConf(t, c, func(line string) string {
		if strings.HasPrefix(strings.TrimSpace(line), "keyring") {
			return "keyring = " + filepath.Join(t.TempDir(), "none.keyring")
		}
		return line
	})
	badKey := filepath.Join(t.TempDir(), "bad.keyring")
	if err := os.WriteFile(badKey, []byte("[client.admin]\n\tkey = AQBkYwZpAAAAABAAbGVuZ3RoIG9mIHRoaXMga2V5IQ==\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongKey := writeConf(t, c, func(line string) string {
		if strings.HasPrefix(strings.TrimSpace(line), "keyring") {
			return "keyring = " + badKey
		}
		return line
	})
	noMon := writeConf(t, c, func(line string) string {
		if strings.HasPrefix(strings.TrimSpace(line), "mon host") || strings.HasPrefix(strings.TrimSpace(line), "mon_host") {
			return "mon host = 127.0.0.1:9"
		}
		return line
	})
	tests := []struct {
		name string
		cfg  string
		size int64
		want string // "" = valid
	}{
		{"valid", cfg, 8 * mib, ""},
		{"size", cfg, 4 * mib, fmt.Sprintf("size 4194304 does not match image rbd/%s, which has 8388608 bytes", image)},
		{"image", c.Pool + "/nosuchimage" + opts, 8 * mib, `image "nosuchimage" does not exist in pool "rbd"`},
		{"snapshot", c.Pool + "/" + image + "@nosnap" + opts, 8 * mib, fmt.Sprintf(`image rbd/%s has no snapshot "nosnap"`, image)},
		{"pool", "nosuchpool/" + image + opts, 8 * mib, `pool "nosuchpool" does not exist`},
		{"conf", c.Pool + "/" + image + ";conf=/nonexistent/ceph.conf", 8 * mib, "conf /nonexistent/ceph.conf: stat /nonexistent/ceph.conf: no such file or directory"},
		{"keyring", c.Pool + "/" + image + ";conf=" + noKeyring + ";osd_op_timeout=5", 8 * mib, "no key for client.admin"},
		{"key", c.Pool + "/" + image + ";conf=" + wrongKey + ";osd_op_timeout=5", 8 * mib, "the monitors refused client.admin's key"},
		{"monitor", c.Pool + "/" + image + ";conf=" + noMon + ";osd_op_timeout=2", 8 * mib, "no monitor answered within 2s (mon_host 127.0.0.1:9"},
		{"syntax", "rbd", 8 * mib, "rbd cfgstring"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.cfg, tt.size)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("Validate succeeded, want %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("Validate:\n got %v\nwant %s", err, tt.want)
			}
		})
	}
}

// TestRegistered: backends opens rbd/ through this package.
func TestRegistered(t *testing.T) {
	c := cephtest.Shared(t)
	cfg := newImage(t, c, 4*mib)
	if err := backends.Validate("rbd/"+cfg, 4*mib); err != nil {
		t.Fatal(err)
	}
	b, err := backends.Open("rbd/"+cfg, 4*mib, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, ok := b.(*Image); !ok {
		t.Fatalf("backends.Open returned %T", b)
	}
	if s, ok := backends.Lookup("rbd"); !ok || s.Help != Help {
		t.Fatalf("Lookup(rbd) = %+v", s)
	}
}

// TestIO covers each operation against the cluster.
func TestIO(t *testing.T) {
	c := cephtest.Shared(t)
	const size = 16 * mib
	im := openImageT(t, newImage(t, c, size), size)
	if got := im.Caps(); got != (backends.Caps{Unmap: true, WriteZeroes: true, FUA: true, UnmapGranularity: 4 * mib, AtomicCompareAndWrite: 512}) {
		t.Fatalf("Caps = %+v", got)
	}
	pattern := func(n int, seed byte) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = seed + byte(i*7)
		}
		return p
	}
	readBack := func(off int64, n int) []byte {
		t.Helper()
		p := make([]byte, n)
		if k, err := im.ReadAt(p, off); err != nil || k != n {
			t.Fatalf("ReadAt(%d, %d) = %d, %v", off, n, k, err)
		}
		return p
	}
	tests := []struct {
		name  string
		do    func() error
		off   int64
		want  []byte
		check func(err error) error // nil: the operation must succeed
	}{
		{name: "write", off: 4096, want: pattern(8192, 1),
			do: func() error { _, err := im.WriteAt(pattern(8192, 1), 4096); return err }},
		{name: "write FUA", off: 5 * mib, want: pattern(4096, 2),
			do: func() error { _, err := im.WriteAtFUA(pattern(4096, 2), 5*mib); return err }},
		{name: "flush", do: im.Flush},
		{name: "writesame", off: 64 * 1024, want: bytes.Repeat(pattern(512, 3), 16),
			do: func() error { return im.WriteSame(pattern(512, 3), 64*1024, 8192) }},
		{name: "write zeroes", off: 4096, want: make([]byte, 4096),
			do: func() error { return im.WriteZeroes(4096, 4096) }},
		{name: "compare and write", off: 5 * mib, want: pattern(512, 4),
			do: func() error { return im.CompareAndWrite(pattern(512, 2), pattern(512, 4), 5*mib) }},
		{name: "compare and write miscompare", off: 5 * mib, want: pattern(512, 4),
			do: func() error {
				cmp := pattern(512, 4)
				cmp[300] ^= 0xff
				return im.CompareAndWrite(cmp, pattern(512, 5), 5*mib)
			},
			check: func(err error) error {
				var m *backends.MiscompareError
				if !errors.As(err, &m) || m.Offset != 300 {
					return fmt.Errorf("want a miscompare at byte 300, got %v", err)
				}
				return nil
			}},
		{name: "compare and write of two sectors",
			do: func() error { return im.CompareAndWrite(make([]byte, 1024), make([]byte, 1024), 4*mib-512) },
			check: func(err error) error {
				if !errors.Is(err, errors.ErrUnsupported) {
					return fmt.Errorf("want ErrUnsupported, got %v", err)
				}
				return nil
			}},
		{name: "unmap whole object", off: 8 * mib, want: make([]byte, 4096),
			do: func() error {
				if _, err := im.WriteAt(pattern(4096, 6), 8*mib); err != nil {
					return err
				}
				return im.Unmap(8*mib, 4*mib)
			}},
		{name: "write beyond the end",
			do: func() error { _, err := im.WriteAt(make([]byte, 512), size); return err },
			check: func(err error) error {
				if !errors.Is(err, backends.ErrOutOfRange) {
					return fmt.Errorf("want ErrOutOfRange, got %v", err)
				}
				return nil
			}},
		{name: "read at the end",
			do: func() error {
				if n, err := im.ReadAt(make([]byte, 512), size); n != 0 || err != io.EOF {
					return fmt.Errorf("ReadAt at the end = %d, %v; want 0, EOF", n, err)
				}
				return nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if tt.check != nil {
				if e := tt.check(err); e != nil {
					t.Fatal(e)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil {
				if got := readBack(tt.off, len(tt.want)); !bytes.Equal(got, tt.want) {
					t.Fatalf("data at %d differs from what was written", tt.off)
				}
			}
		})
	}
	if err := im.Health(); err != nil {
		t.Fatalf("Health = %v", err)
	}
}

// TestSnapshot: an image@snap is served read-only, with the snapshot's
// data.
func TestSnapshot(t *testing.T) {
	c := cephtest.Shared(t)
	cfg := newImage(t, c, 4*mib)
	rw := openImageT(t, cfg, 4*mib)
	if _, err := rw.WriteAt(bytes.Repeat([]byte{0xab}, 512), 0); err != nil {
		t.Fatal(err)
	}
	spec := strings.Split(cfg, ";")[0]
	if _, err := c.RBD("snap", "create", spec+"@gold"); err != nil {
		t.Fatal(err)
	}
	if _, err := rw.WriteAt(bytes.Repeat([]byte{0xcd}, 512), 0); err != nil {
		t.Fatal(err)
	}
	snapCfg := strings.Replace(cfg, spec, spec+"@gold", 1)
	ro := openImageT(t, snapCfg, 4*mib)
	if !ro.Caps().ReadOnly {
		t.Fatal("a snapshot is not read-only")
	}
	p := make([]byte, 512)
	if _, err := ro.ReadAt(p, 0); err != nil || !bytes.Equal(p, bytes.Repeat([]byte{0xab}, 512)) {
		t.Fatalf("snapshot read: %v, % x…", err, p[:4])
	}
	_, err := ro.WriteAt(p, 0)
	var se *backends.SenseError
	if !errors.As(err, &se) || se.Key != backends.SenseKeyDataProtect || !errors.Is(err, syscall.EROFS) {
		t.Fatalf("write to a snapshot: %v, want DATA PROTECT (EROFS)", err)
	}
	if _, err := c.RBD("snap", "rm", spec+"@gold"); err != nil {
		t.Fatal(err)
	}
}

// TestSharedConnection: images of one cluster share a connection unless
// they ask for different timeouts; the last close ends it.
func TestSharedConnection(t *testing.T) {
	c := cephtest.Shared(t)
	cfgA := newImage(t, c, 4*mib)
	cfgB := strings.Replace(cfgA, ";", "-b;", 1)
	nameB := strings.Split(strings.Split(cfgB, ";")[0], "/")[1]
	if err := c.CreateImage(nameB, 4*mib); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.RemoveImage(nameB) })
	a := openImageT(t, cfgA, 4*mib)
	b := openImageT(t, cfgB, 4*mib)
	other := openImageT(t, cfgA+";osd_op_timeout=45", 4*mib)
	if a.cl != b.cl {
		t.Error("two images of one cluster have connections of their own")
	}
	if a.cl == other.cl {
		t.Error("images with different osd_op_timeout share a connection")
	}
	if other.cl.timeout.Seconds() != 45 {
		t.Errorf("timeout %v, want 45s", other.cl.timeout)
	}
	shared := a.cl
	a.Close()
	b.Close()
	poolMu.Lock()
	_, open := clusters[shared.key]
	poolMu.Unlock()
	if open {
		t.Error("the connection outlived its last image")
	}
}

// TestResize: a resize in the cluster reaches the size watcher.
func TestResize(t *testing.T) {
	c := cephtest.Shared(t)
	cfg := newImage(t, c, 4*mib)
	im := openImageT(t, cfg, 4*mib)
	sizes := make(chan int64, 4)
	stop := im.WatchSize(func(size int64) { sizes <- size })
	defer stop()
	if _, err := c.RBD("resize", "--size", "8M", strings.Split(cfg, ";")[0]); err != nil {
		t.Fatal(err)
	}
	if got := <-sizes; got != 8*mib {
		t.Fatalf("watcher saw %d, want %d", got, 8*mib)
	}
	if im.Size() != 8*mib {
		t.Fatalf("Size = %d after the resize", im.Size())
	}
}

// retryable reports whether err is ABORTED COMMAND with LOGICAL UNIT
// COMMUNICATION TIME-OUT or FAILURE (0b/08/01, 0b/08/00).
func retryable(err error) bool {
	var se *backends.SenseError
	return errors.As(err, &se) && se.Key == backends.SenseKeyAbortedCommand && se.ASC == 0x08 && se.ASCQ <= 1
}

// waitHealthy polls the image until a read succeeds and the connection is
// reported up again.
func waitHealthy(t *testing.T, im *Image) {
	t.Helper()
	p := make([]byte, 512)
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		_, err := im.ReadAt(p, 0)
		if err == nil && im.Health() == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered: read %v, health %v", err, im.Health())
		}
	}
}

// TestConnectionLoss: when the cluster stops answering (its OSD stopped)
// or shuts this client out (blocklisted), operations fail within
// osd_op_timeout with a retryable sense, the connection is reported down,
// and it recovers by itself once the cluster answers again.
func TestConnectionLoss(t *testing.T) {
	c := cephtest.Shared(t)
	im := openImageT(t, newImage(t, c, 4*mib, "osd_op_timeout=3"), 4*mib)
	if _, err := im.WriteAt(make([]byte, 4096), 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		lose    func() error
		restore func() error
		health  string // in Health while down
	}{
		{name: "OSD stopped",
			lose:    c.StopOSD,
			restore: c.StartOSD,
			health:  "timed out after 3s"},
		{name: "client blocklisted",
			lose: func() error {
				addr, err := im.cl.currentConn().GetAddrs()
				if err != nil {
					return err
				}
				_, err = c.Ceph("osd", "blocklist", "add", addr)
				return err
			},
			restore: func() error { return nil },
			health:  "cluster connection lost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recovers, losses := im.cl.recovers.Load(), im.cl.losses.Load()
			if err := tt.lose(); err != nil {
				t.Fatal(err)
			}
			// The cluster's new state may take a moment to reach the
			// OSD: write until a write fails.
			var err error
			for deadline := time.Now().Add(time.Minute); err == nil && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				_, err = im.WriteAt(make([]byte, 4096), 8192)
			}
			if !retryable(err) {
				t.Fatalf("write with the cluster lost: %v, want ABORTED COMMAND 0b/08/0x", err)
			}
			// The connection went down (it may be up again already:
			// recovery runs in the background).
			if im.cl.losses.Load() == losses || !strings.Contains(*im.cl.lastLoss.Load(), tt.health) {
				t.Fatalf("after %v: %d losses, last %q, want %q", err, im.cl.losses.Load()-losses, *im.cl.lastLoss.Load(), tt.health)
			}
			if err := tt.restore(); err != nil {
				t.Fatal(err)
			}
			waitHealthy(t, im)
			if _, err := im.WriteAt(make([]byte, 4096), 8192); err != nil {
				t.Fatalf("write after recovery: %v", err)
			}
			t.Logf("%s: %v; recovered, reconnections %d", tt.name, err, im.cl.recovers.Load()-recovers)
		})
	}
}

// TestResizeReachesBackstore: an image served by the engine and resized in
// the cluster gets the new size as the backstore's dev_size, and the
// initiator's I/O reaches the new end.
func TestResizeReachesBackstore(t *testing.T) {
	c := cephtest.Shared(t)
	cfg := newImage(t, c, 4*mib)
	s := serveOnSim(t, cfg, 4*mib)
	if _, err := c.RBD("resize", "--size", "8M", strings.Split(cfg, ";")[0]); err != nil {
		t.Fatal(err)
	}
	devSize := path.Join(s.so.Path(), "attrib", "dev_size")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		v, err := s.lio.ReadAttr(devSize)
		if err == nil && strings.TrimSpace(v) == "8388608" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev_size %q, %v; want 8388608", v, err)
		}
	}
	// A sequential write over the whole new size, then read back.
	res, err := s.eng.Workload(context.Background(), s.lun, engine.WorkloadSpec{RW: "write", BlockSize: 64 << 10, QueueDepth: 1, Count: 128, Verify: true})
	if err != nil || res.Errors != 0 || res.VerifyErrors != 0 || res.Ops < 128 {
		t.Fatalf("workload over 8 MiB: %+v, %v", res, err)
	}
}
