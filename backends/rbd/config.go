// Package rbd is the rbd subtype of user backstores: a Ceph RBD image
// served through librbd, with the cfgstring of tcmu-runner's rbd handler,
// so that a backstore made for tcmu-runner moves to tcmsh unchanged:
//
//	rbd/<pool>/<image>[@snap][;osd_op_timeout=N][;conf=PATH][;id=NAME]
//
// The backend itself needs cgo and Ceph's client libraries (librbd,
// librados) through github.com/ceph/go-ceph, so it is only compiled with
// the build tags rbd and pacific (Ceph 16); importing the package then
// registers the subtype with package backends. The cfgstring parser is
// pure Go and always compiled, so that it is tested (and fuzzed) by the
// default build.
//
// One librados connection is shared by every image of a cluster: the key
// is the ceph.conf path, the client id and the osd_op_timeout (which is a
// setting of the connection, so images asking for different timeouts get
// connections of their own). The timeout bounds every librados operation
// (rados_osd_op_timeout, rados_mon_op_timeout, client_mount_timeout); an
// operation that runs out of it fails with ABORTED COMMAND, LOGICAL UNIT
// COMMUNICATION TIME-OUT, which initiators retry. A connection whose
// operations time out or are refused (a blocklisted client) is reported
// down (Health, hence the engine's stats, `stats` and the metrics) and is
// probed, reconnected and its images reopened in the background with
// backoff until the cluster answers again. It is reported up again only on
// evidence that an OSD serves data: a write completed with librbd's cache
// off, or a probe's librados read of an image's header object; what librbd
// may answer by itself (the size from the cached header, a flush with the
// cache off, a read of an object the object map says does not exist) only
// makes the supervisor probe sooner.
package rbd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Option names of the cfgstring.
const (
	optTimeout = "osd_op_timeout"
	optConf    = "conf"
	optID      = "id"
)

// Options lists the options the cfgstring accepts.
var Options = []string{optTimeout, optConf, optID}

// MaxTimeout bounds osd_op_timeout: beyond it an initiator has long given
// up on the command.
const MaxTimeout = 24 * time.Hour

// Config is a parsed cfgstring.
type Config struct {
	Pool  string
	Image string
	// Snap is the snapshot to serve, read-only; empty serves the image
	// itself.
	Snap string
	// Timeout is osd_op_timeout; 0 means it was not given, and the
	// connection then uses the cluster's osd heartbeat grace + interval +
	// 5 s unless ceph.conf sets a larger rados_osd_op_timeout (what
	// tcmu-runner does).
	Timeout time.Duration
	// Conf is the ceph.conf path; empty means librados's default search
	// ($CEPH_CONF, /etc/ceph/ceph.conf, ~/.ceph/config, ./ceph.conf).
	Conf string
	// ID is the client id without "client." (id=admin is client.admin);
	// empty means librados's default, admin.
	ID string
}

// ReadOnly reports whether the device is write protected (a snapshot).
func (c Config) ReadOnly() bool { return c.Snap != "" }

// Spec is the image as rbd(8) names it: pool/image[@snap].
func (c Config) Spec() string {
	s := c.Pool + "/" + c.Image
	if c.Snap != "" {
		s += "@" + c.Snap
	}
	return s
}

// Client is the client name, client.<id>.
func (c Config) Client() string {
	if c.ID == "" {
		return "client.admin"
	}
	return "client." + c.ID
}

// String formats the config back into a cfgstring (without `rbd/`) that
// ParseConfig reads as the same Config.
func (c Config) String() string {
	var b strings.Builder
	b.WriteString(c.Spec())
	if c.Timeout > 0 {
		v := c.Timeout.String() // exact: 2.5s, 1m0.001s
		if c.Timeout%time.Second == 0 {
			v = strconv.FormatInt(int64(c.Timeout/time.Second), 10) // as tcmu-runner writes it
		}
		fmt.Fprintf(&b, ";%s=%s", optTimeout, v)
	}
	if c.Conf != "" {
		fmt.Fprintf(&b, ";%s=%s", optConf, c.Conf)
	}
	if c.ID != "" {
		fmt.Fprintf(&b, ";%s=%s", optID, c.ID)
	}
	return b.String()
}

// ErrSyntax is wrapped by every error of ParseConfig.
var ErrSyntax = errors.New("rbd cfgstring")

func syntaxf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSyntax}, args...)...)
}

// ParseConfig parses a cfgstring, the dev_config without its leading
// `rbd/`: `<pool>/<image>[@snap]` then `;`-separated options. As in
// tcmu-runner, the pool ends at the first '/', the image at the first ';',
// and options are key=value; unlike tcmu-runner, an unknown or repeated
// option is an error rather than silently ignored, and names are checked
// against what Ceph accepts, so that a typo is caught at create time.
func ParseConfig(cfg string) (Config, error) {
	var c Config
	head, opts, _ := strings.Cut(cfg, ";")
	pool, image, ok := strings.Cut(head, "/")
	if !ok {
		return c, syntaxf("%q: expected <pool>/<image>[@snap], e.g. rbd/disk1", head)
	}
	image, snap, hasSnap := strings.Cut(image, "@")
	switch {
	case pool == "":
		return c, syntaxf("%q: empty pool name before '/'", head)
	case image == "":
		return c, syntaxf("%q: empty image name after '/'", head)
	case hasSnap && snap == "":
		return c, syntaxf("%q: empty snapshot name after '@'", head)
	}
	if err := checkName("pool", pool); err != nil {
		return c, err
	}
	if strings.Contains(image, "/") {
		return c, syntaxf("image %q: an image name has no '/' (namespaces are not supported)", image)
	}
	if err := checkName("image", image); err != nil {
		return c, err
	}
	if hasSnap {
		if err := checkName("snapshot", snap); err != nil {
			return c, err
		}
	}
	c.Pool, c.Image, c.Snap = pool, image, snap

	seen := map[string]bool{}
	for elem := range strings.SplitSeq(opts, ";") {
		if strings.TrimSpace(elem) == "" {
			continue // a trailing ';' or ";;", as tcmu-runner's strtok skips
		}
		key, value, hasValue := strings.Cut(elem, "=")
		key = strings.TrimSpace(key)
		if seen[key] {
			return c, syntaxf("option %q given twice", key)
		}
		seen[key] = true
		switch key {
		case optTimeout, optConf, optID:
		default:
			return c, syntaxf("unknown option %q (valid: %s)", key, strings.Join(Options, ", "))
		}
		if !hasValue || value == "" {
			return c, syntaxf("option %q needs a value (e.g. %s)", key, example(key))
		}
		switch key {
		case optTimeout:
			d, err := parseTimeout(value)
			if err != nil {
				return c, err
			}
			c.Timeout = d
		case optConf:
			if strings.ContainsRune(value, 0) {
				return c, syntaxf("option %q: a path has no NUL byte", key)
			}
			c.Conf = value
		case optID:
			if strings.HasPrefix(value, "client.") {
				return c, syntaxf("option %q: %q: give the id without \"client.\" (id=%s)", key, value, strings.TrimPrefix(value, "client."))
			}
			if err := checkName("id", value); err != nil {
				return c, err
			}
			c.ID = value
		}
	}
	return c, nil
}

func example(key string) string {
	switch key {
	case optTimeout:
		return "osd_op_timeout=30"
	case optConf:
		return "conf=/etc/ceph/ceph.conf"
	}
	return "id=admin"
}

// parseTimeout reads osd_op_timeout: seconds, as tcmu-runner and Ceph's
// rados_osd_op_timeout take it (a whole or decimal number), or a Go
// duration with its unit (30s, 1m30s).
func parseTimeout(v string) (time.Duration, error) {
	var d time.Duration
	plain := strings.Trim(v, "-0123456789.") == ""
	if secs, err := strconv.ParseFloat(v, 64); plain && err == nil {
		if secs <= 0 || secs > MaxTimeout.Seconds() {
			return 0, syntaxf("option %q: %s seconds is out of range (more than 0, at most %v); 0, which Ceph reads as no timeout, is refused because an operation must never hang", optTimeout, v, MaxTimeout)
		}
		d = time.Duration(secs * float64(time.Second))
	} else if pd, err := time.ParseDuration(v); err == nil {
		if pd <= 0 || pd > MaxTimeout {
			return 0, syntaxf("option %q: %s is out of range (more than 0, at most %v)", optTimeout, v, MaxTimeout)
		}
		d = pd
	} else {
		return 0, syntaxf("option %q: %q is not a number of seconds (e.g. osd_op_timeout=30)", optTimeout, v)
	}
	if d < time.Millisecond {
		return 0, syntaxf("option %q: %s is below a millisecond", optTimeout, v)
	}
	return d, nil
}

// checkName rejects characters that no pool, image, snapshot or client id
// can hold (and that would break the cfgstring or the uio name): control
// characters, spaces and the separators '/', '@', ';', ':'.
func checkName(what, name string) error {
	for _, r := range name {
		if r < 0x21 || r == 0x7f || strings.ContainsRune("/@;:", r) {
			return syntaxf("%s %q: %q is not allowed in a %s name", what, name, r, what)
		}
	}
	return nil
}

// Help is the subtype's help text.
const Help = `rbd/<pool>/<image>[@snap][;osd_op_timeout=N][;conf=PATH][;id=NAME] — a Ceph RBD image.

The cfgstring is tcmu-runner's, so a backstore made for tcmu-runner's rbd
handler is served by tcmsh unchanged. The size given to create must be the
image's size; the image, pool, monitors and key are checked at create time.
An image with @snap is served read-only (write protected). I/O goes to
librbd (its cache off, as tcmu-runner sets it): many commands in flight,
SYNCHRONIZE CACHE and FUA as flushes, UNMAP as discard (granularity: the
image's object size), WRITE SAME as rbd writesame, COMPARE AND WRITE as
rbd compare-and-write, atomic in the cluster. A resize in the cluster
reaches initiators as CAPACITY DATA HAS CHANGED.

Options (separated by ';'):
  osd_op_timeout=N  seconds any cluster operation may take before the
                    command fails with a retryable ABORTED COMMAND; default:
                    ceph.conf's rados_osd_op_timeout when larger than osd
                    heartbeat grace + interval, else that sum + 5 (31 s with
                    Ceph's defaults), as tcmu-runner does
  conf=PATH         the ceph.conf (default: librados's search, e.g.
                    /etc/ceph/ceph.conf); its keyring setting names the key
  id=NAME           the client id, without "client." (default: admin)

Images of one cluster (same conf, id and osd_op_timeout) share one
connection. A lost connection is shown by stats and the metrics, and is
reconnected in the background.

Examples:
  rbd/rbd/disk1
  rbd/rbd/disk1;osd_op_timeout=30;conf=/etc/ceph/ceph.conf;id=admin
  rbd/rbd/disk1@gold`
