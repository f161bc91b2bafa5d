// Package cephtest starts throwaway one-node Ceph clusters for tests: one
// monitor and one OSD (bluestore on a sparse file) on 127.0.0.1, started and
// stopped by the script test/ceph/cluster, with no mgr, no systemd and no
// root needed. It is pure Go; the clients it runs are Ceph's own command-line
// tools (ceph, rbd, rados).
//
// A test starts its own cluster with Start, which stops it at the end of
// the test:
//
//	c := cephtest.Start(t)
//	if err := c.CreateImage("img", 64<<20); err != nil { t.Fatal(err) }
//	out, err := c.RBD("info", c.Pool+"/img")
//
// or shares one cluster per test binary (a start costs about 10 s):
//
//	func TestMain(m *testing.M) { os.Exit(cephtest.Main(m)) }
//	func TestX(t *testing.T) { c := cephtest.Shared(t); … }
//
// When Ceph's binaries are missing, Start and Shared skip the test with a
// message naming the Debian packages to install — unless the environment has
// TCMSH_REQUIRE_CEPH=1 (as CI does), in which case they fail it.
//
// The environment variable TCMSH_CEPH_CLUSTER may name the cluster script;
// by default it is found as test/ceph/cluster in the module tree.
package cephtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Packages are the Debian packages that provide what the clusters and the
// cgo RBD backend need.
const Packages = "ceph-mon ceph-osd ceph-common librbd-dev librados-dev"

// RequireEnv is the environment variable that turns a missing Ceph from a
// skip into a failure.
const RequireEnv = "TCMSH_REQUIRE_CEPH"

// binaries are the programs the cluster script and the helpers run.
var binaries = []string{"ceph-mon", "ceph-osd", "ceph", "ceph-authtool", "monmaptool", "rados", "rbd"}

// CLITimeout bounds each run of a Ceph command-line tool, so that a test
// against a cluster that lost its OSD fails instead of hanging.
const CLITimeout = 5 * time.Minute

// Cluster is a running one-node cluster.
type Cluster struct {
	Dir     string // everything of the cluster: conf, keyring, data, logs (run/, log/)
	Conf    string // ceph.conf: give it to clients (conf= of the rbd cfgstring)
	Keyring string // client.admin's keyring (the conf's [client] keyring names it too)
	ID      string // client id: "admin"
	Pool    string // an RBD pool, initialised: "rbd"
	MonHost string // the monitor's addresses, "[v2:127.0.0.1:P,v1:127.0.0.1:P+1]"
	FSID    string

	script string
	mu     sync.Mutex
	closed bool
}

// Missing returns the Ceph programs not found in PATH.
func Missing() []string {
	var missing []string
	for _, b := range binaries {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	return missing
}

// Required reports whether TCMSH_REQUIRE_CEPH=1.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// checkInstalled skips (or, when required, fails) tb when Ceph is missing.
func checkInstalled(tb testing.TB) {
	tb.Helper()
	missing := Missing()
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("Ceph not installed (no %s in PATH): apt-get install %s", strings.Join(missing, ", "), Packages)
	if Required() {
		tb.Fatalf("%s (%s=1: required)", msg, RequireEnv)
		return
	}
	tb.Skipf("%s; set %s=1 to fail instead of skipping", msg, RequireEnv)
}

// Start starts a new cluster for tb, stopped (by PID) and removed when tb
// ends. It skips tb when Ceph is not installed (see the package comment).
func Start(tb testing.TB) *Cluster {
	tb.Helper()
	checkInstalled(tb)
	c, err := StartCluster()
	if err != nil {
		tb.Fatalf("start Ceph cluster: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("stop Ceph cluster: %v", err)
		}
	})
	return c
}

// StartCluster starts a new cluster in a fresh temporary directory; Close
// stops it and removes the directory. Most tests want Start or Shared.
func StartCluster() (*Cluster, error) {
	script, err := findScript()
	if err != nil {
		return nil, err
	}
	// A short directory name: daemons' admin sockets live in it and Unix
	// socket paths are limited to 107 bytes.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		dir, err := os.MkdirTemp("", "ceph")
		if err != nil {
			return nil, err
		}
		c := &Cluster{Dir: dir, script: script}
		// --owner: should this process die without Close (a panic, go
		// test's -timeout), the script's watcher stops the daemons.
		out, err := c.run(context.Background(), "start", dir, "--owner", strconv.Itoa(os.Getpid()))
		if err == nil {
			if err := c.parseEnv(out); err != nil {
				c.Close()
				return nil, err
			}
			return c, nil
		}
		lastErr = err
		// The script picks a free monitor port pair, but another cluster
		// starting at the same moment may take it: try again with another.
		inUse := c.logContains("mon.a.log", "Address already in use")
		c.Close()
		if !inUse {
			break
		}
	}
	return nil, lastErr
}

func (c *Cluster) logContains(name, s string) bool {
	b, err := os.ReadFile(filepath.Join(c.Dir, "log", name))
	return err == nil && bytes.Contains(b, []byte(s))
}

// parseEnv reads the NAME=VALUE lines the script prints.
func (c *Cluster) parseEnv(out string) error {
	vals := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vals[k] = v
		}
	}
	c.Conf, c.Keyring, c.ID, c.Pool = vals["conf"], vals["keyring"], vals["id"], vals["pool"]
	c.MonHost, c.FSID = vals["mon_host"], vals["fsid"]
	if c.Conf == "" || c.Keyring == "" || c.ID == "" || c.Pool == "" {
		return fmt.Errorf("cluster script printed no conf/keyring/id/pool: %q", out)
	}
	return nil
}

// run runs the cluster script; the error carries its output.
func (c *Cluster) run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, CLITimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.script, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %v\n%s%s", filepath.Base(c.script), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// findScript finds test/ceph/cluster: $TCMSH_CEPH_CLUSTER, else upwards from
// the working directory (go test runs in the package's folder), else next to
// this source file.
func findScript() (string, error) {
	if p := os.Getenv("TCMSH_CEPH_CLUSTER"); p != "" {
		return p, nil
	}
	rel := filepath.Join("test", "ceph", "cluster")
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			p := filepath.Join(d, rel)
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				if _, err := os.Stat(p); err == nil {
					return p, nil
				}
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		p := filepath.Join(filepath.Dir(file), "..", "ceph", "cluster")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("cluster script test/ceph/cluster not found (set TCMSH_CEPH_CLUSTER)")
}

// CfgString is the rbd backstore's configuration string for image in the
// cluster's pool: "pool/image;conf=…;id=…", followed by opts ("osd_op_timeout=5").
func (c *Cluster) CfgString(image string, opts ...string) string {
	s := c.Pool + "/" + image + ";conf=" + c.Conf + ";id=" + c.ID
	for _, o := range opts {
		s += ";" + o
	}
	return s
}

// clientArgs are the arguments that point a Ceph tool at the cluster.
func (c *Cluster) clientArgs() []string {
	return []string{"-c", c.Conf, "-k", c.Keyring, "--id", c.ID}
}

// tool runs a Ceph command-line tool against the cluster; the error carries
// its standard error.
func (c *Cluster) tool(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, CLITimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, append(c.clientArgs(), args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// RBD runs the rbd command with the cluster's conf, keyring and id, and
// returns its standard output.
func (c *Cluster) RBD(args ...string) (string, error) {
	return c.tool(context.Background(), "rbd", args...)
}

// RBDContext is RBD bounded by ctx.
func (c *Cluster) RBDContext(ctx context.Context, args ...string) (string, error) {
	return c.tool(ctx, "rbd", args...)
}

// Ceph runs the ceph command against the cluster.
func (c *Cluster) Ceph(args ...string) (string, error) {
	return c.tool(context.Background(), "ceph", args...)
}

// Rados runs the rados command against the cluster.
func (c *Cluster) Rados(args ...string) (string, error) {
	return c.tool(context.Background(), "rados", args...)
}

// CreateImage creates image name of size bytes in the cluster's pool.
func (c *Cluster) CreateImage(name string, size int64) error {
	_, err := c.RBD("create", "--size", fmt.Sprintf("%dB", size), c.Pool+"/"+name)
	return err
}

// RemoveImage removes image name from the cluster's pool.
func (c *Cluster) RemoveImage(name string) error {
	_, err := c.RBD("rm", "--no-progress", c.Pool+"/"+name)
	return err
}

// ExportImage returns the content of image name (rbd export).
func (c *Cluster) ExportImage(name string) ([]byte, error) {
	f, err := os.CreateTemp("", "rbd-export")
	if err != nil {
		return nil, err
	}
	path := f.Name()
	f.Close()
	defer os.Remove(path)
	// rbd export refuses to overwrite a file.
	os.Remove(path)
	if _, err := c.RBD("export", "--no-progress", c.Pool+"/"+name, path); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// ImportImage creates image name from data (rbd import).
func (c *Cluster) ImportImage(name string, data []byte) error {
	f, err := os.CreateTemp("", "rbd-import")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	_, err = c.RBD("import", "--no-progress", f.Name(), c.Pool+"/"+name)
	return err
}

// StopOSD stops the OSD by its PID (SIGTERM: it tells the monitor it goes
// down) and waits until it has exited. Client I/O then waits, or fails after
// the client's osd_op_timeout.
func (c *Cluster) StopOSD() error {
	_, err := c.run(context.Background(), "stop-osd", c.Dir)
	return err
}

// KillOSD kills the OSD with SIGKILL (the monitor learns of it only when
// heartbeats time out) and waits until it has exited.
func (c *Cluster) KillOSD() error {
	_, err := c.run(context.Background(), "stop-osd", c.Dir, "--kill")
	return err
}

// StartOSD starts the OSD again and waits until the pool takes writes.
func (c *Cluster) StartOSD() error {
	_, err := c.run(context.Background(), "start-osd", c.Dir)
	return err
}

// WaitIO waits until the pool takes writes (OSD up, PGs active).
func (c *Cluster) WaitIO() error {
	_, err := c.run(context.Background(), "wait", c.Dir)
	return err
}

// Close stops the daemons by PID and removes the cluster's directory
// (kept, for its logs, when TCMSH_CEPH_KEEP=1). It may be called more than
// once.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	if _, err := os.Stat(filepath.Join(c.Dir, "run")); err == nil {
		if _, err := c.run(context.Background(), "stop", c.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	if os.Getenv("TCMSH_CEPH_KEEP") != "1" {
		if err := os.RemoveAll(c.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// The cluster shared by the tests of one binary (Main and Shared).
var shared struct {
	sync.Mutex
	inMain  bool
	started bool
	c       *Cluster
	err     error
}

// Main runs the tests of m and then stops the cluster Shared started, if
// any; use it from TestMain: os.Exit(cephtest.Main(m)).
func Main(m *testing.M) int {
	shared.Lock()
	shared.inMain = true
	shared.Unlock()
	code := m.Run()
	shared.Lock()
	defer shared.Unlock()
	if shared.c != nil {
		if err := shared.c.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "cephtest: stop shared cluster: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Shared returns the cluster shared by the tests of this binary, starting
// it on first use; Main stops it after the last test. Tests that share it
// should use image names of their own. It skips tb when Ceph is not
// installed, like Start.
func Shared(tb testing.TB) *Cluster {
	tb.Helper()
	checkInstalled(tb)
	shared.Lock()
	defer shared.Unlock()
	if !shared.inMain {
		tb.Fatal("cephtest.Shared needs TestMain to call cephtest.Main(m)")
	}
	if !shared.started {
		shared.started = true
		shared.c, shared.err = StartCluster()
	}
	if shared.err != nil {
		tb.Fatalf("start shared Ceph cluster: %v", shared.err)
	}
	return shared.c
}
