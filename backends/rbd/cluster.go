//go:build rbd

package rbd

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ceph/go-ceph/rados"
)

// clusterKey identifies a shared connection. The timeout is part of it
// because rados_osd_op_timeout belongs to the connection: images asking for
// different timeouts cannot share one.
type clusterKey struct {
	conf, id string
	timeout  time.Duration // as given; 0 = the default
}

// Intervals of the connection's supervision.
var (
	// probeEvery is how often an idle connection is checked (a small read
	// of one image); a connection with recent successful I/O is not.
	probeEvery = 5 * time.Second
	// reconnectMin and reconnectMax bound the backoff between recovery
	// attempts of a connection that is down.
	reconnectMin = 500 * time.Millisecond
	reconnectMax = 30 * time.Second
)

// cluster is one librados connection, shared by the images of a cluster.
type cluster struct {
	key     clusterKey
	timeout time.Duration // in effect

	mu     sync.Mutex
	conn   *rados.Conn
	refs   int // open images plus validations in progress, guarded by poolMu
	images map[*Image]struct{}
	closed bool

	// The connection's health. epoch counts its transitions: even while
	// it is up, odd while it is down. An operation notes the epoch it
	// began in (begin) and its outcome counts only against that epoch, so
	// that an operation that began before the latest transition (a
	// success from before the loss, a timeout from before the recovery)
	// changes nothing. Transitions and the down fields are guarded by hmu.
	hmu      sync.Mutex
	epoch    atomic.Uint64
	downErr  string
	downAt   time.Time
	upBy     string       // the evidence of the last recovery, for tests and logs
	lastOK   atomic.Int64 // the last OSD-served success, UnixNano
	recovers atomic.Int64 // reconnections done, for tests and logs
	losses   atomic.Int64 // times the connection went down
	lastLoss atomic.Pointer[string]
	// wake asks the supervisor to look at the connection: one went down.
	// hint tells it that an operation succeeded while it is down without
	// that proving an OSD answered: it probes sooner.
	wake chan struct{}
	hint chan struct{}
	done chan struct{}
}

var (
	poolMu   sync.Mutex
	clusters = map[clusterKey]*cluster{}
)

// getCluster returns the shared connection for cfg, connecting when none
// is open. The caller must releaseCluster it.
func getCluster(cfg Config) (*cluster, error) {
	key := clusterKey{conf: cfg.Conf, id: cfg.ID, timeout: cfg.Timeout}
	poolMu.Lock()
	if c, ok := clusters[key]; ok {
		c.refs++
		poolMu.Unlock()
		return c, nil
	}
	poolMu.Unlock()
	// Connecting may take up to the timeout: other clusters' opens and
	// closes do not wait for it.
	conn, timeout, err := connect(cfg)
	if err != nil {
		return nil, err
	}
	poolMu.Lock()
	defer poolMu.Unlock()
	if c, ok := clusters[key]; ok {
		// Another open connected meanwhile: share its connection.
		c.refs++
		go conn.Shutdown()
		return c, nil
	}
	c := &cluster{key: key, timeout: timeout, conn: conn, refs: 1,
		images: map[*Image]struct{}{}, wake: make(chan struct{}, 1), hint: make(chan struct{}, 1),
		done: make(chan struct{})}
	c.lastOK.Store(time.Now().UnixNano())
	clusters[key] = c
	go c.supervise()
	return c, nil
}

// releaseCluster drops a reference; the last one shuts the connection down.
func releaseCluster(c *cluster) {
	poolMu.Lock()
	c.refs--
	last := c.refs == 0
	if last {
		delete(clusters, c.key)
	}
	poolMu.Unlock()
	if !last {
		return
	}
	c.mu.Lock()
	c.closed = true
	conn := c.conn
	c.conn = nil
	c.mu.Unlock()
	close(c.done)
	if conn != nil {
		conn.Shutdown()
	}
}

// connect opens a librados connection as cfg says, every operation bounded
// by the timeout, and names what is missing when it cannot.
func connect(cfg Config) (*rados.Conn, time.Duration, error) {
	if cfg.Conf != "" {
		if _, err := os.Stat(cfg.Conf); err != nil {
			return nil, 0, fmt.Errorf("conf %s: %w", cfg.Conf, err)
		}
	}
	var conn *rados.Conn
	var err error
	if cfg.ID != "" {
		conn, err = rados.NewConnWithUser(cfg.ID)
	} else {
		conn, err = rados.NewConn()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("librados: %w", err)
	}
	confName := cfg.Conf
	if cfg.Conf != "" {
		err = conn.ReadConfigFile(cfg.Conf)
	} else {
		confName = "the default ceph.conf"
		if err = conn.ReadDefaultConfigFile(); err != nil {
			// As tcmu-runner: no default file is not an error by itself
			// (CEPH_ARGS or the environment may say it all); what is
			// missing shows when connecting.
			err = nil
		}
	}
	if err != nil {
		conn.Shutdown()
		return nil, 0, fmt.Errorf("conf %s: %w", cfg.Conf, err)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = defaultTimeout(conn)
	}
	secs := strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64)
	for _, o := range [][2]string{
		// librbd's cache off, as tcmu-runner sets it: a write is then on
		// the OSDs when it completes, and no data waits in this process.
		{"rbd_cache", "false"},
		{"rados_osd_op_timeout", secs},
		{"rados_mon_op_timeout", secs},
		{"client_mount_timeout", secs},
	} {
		if err := conn.SetConfigOption(o[0], o[1]); err != nil {
			conn.Shutdown()
			return nil, 0, fmt.Errorf("librados option %s=%s: %w", o[0], o[1], err)
		}
	}
	if err := conn.Connect(); err != nil {
		conn.Shutdown()
		return nil, 0, connectError(cfg, confName, timeout, conn, err)
	}
	return conn, timeout, nil
}

// defaultTimeout is tcmu-runner's choice when osd_op_timeout is not given:
// ceph.conf's rados_osd_op_timeout when it exceeds osd heartbeat grace +
// interval (so that an OSD failover is not cut short), else that sum + 5 s.
func defaultTimeout(conn *rados.Conn) time.Duration {
	get := func(name string, def float64) float64 {
		v, err := conn.GetConfigOption(name)
		if err != nil {
			return def
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return def
		}
		return f
	}
	grace, interval := get("osd_heartbeat_grace", 20), get("osd_heartbeat_interval", 6)
	configured := get("rados_osd_op_timeout", 0)
	if configured > grace+interval {
		return time.Duration(configured * float64(time.Second))
	}
	return time.Duration((grace + interval + 5) * float64(time.Second))
}

// connectError says which part of the way to the cluster failed.
func connectError(cfg Config, confName string, timeout time.Duration, conn *rados.Conn, err error) error {
	mons := "(none configured)"
	if v, e := conn.GetConfigOption("mon_host"); e == nil && v != "" {
		mons = v
	}
	errno, _ := errnoOf(err)
	switch errno {
	case syscall.ENOENT:
		return fmt.Errorf("no key for %s: no keyring found (set keyring in %s, or give id=): %w", cfg.Client(), confName, err)
	case syscall.EACCES, syscall.EPERM:
		return fmt.Errorf("the monitors refused %s's key (check the keyring named in %s): %w", cfg.Client(), confName, err)
	case syscall.ETIMEDOUT:
		return fmt.Errorf("no monitor answered within %v (mon_host %s in %s): %w", timeout, mons, confName, err)
	case syscall.EINVAL:
		if mons == "(none configured)" {
			return fmt.Errorf("no monitor address: %s sets no mon_host: %w", confName, err)
		}
	}
	return fmt.Errorf("connect to the monitors (mon_host %s) as %s: %w", mons, cfg.Client(), err)
}

// openIOContext opens a pool, naming it when it does not exist.
func (c *cluster) openIOContext(conn *rados.Conn, pool string) (*rados.IOContext, error) {
	ioctx, err := conn.OpenIOContext(pool)
	if err != nil {
		if errno, _ := errnoOf(err); errno == syscall.ENOENT {
			return nil, fmt.Errorf("pool %q does not exist: %w", pool, err)
		}
		return nil, fmt.Errorf("open pool %q: %w", pool, err)
	}
	return ioctx, nil
}

// Health reports why the connection is down, or nil.
func (c *cluster) Health() error {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	if !isDown(c.epoch.Load()) {
		return nil
	}
	since := c.downAt.UTC().Format(time.TimeOnly)
	if c.downErr != "" {
		return fmt.Errorf("%s (down since %s UTC)", c.downErr, since)
	}
	return fmt.Errorf("cluster connection down since %s UTC", since)
}

func isDown(epoch uint64) bool { return epoch&1 == 1 }

// down reports whether the connection is down.
func (c *cluster) down() bool { return isDown(c.epoch.Load()) }

// begin returns the epoch of the connection's health that an operation
// begins in, for noteOK, noteDone and noteError.
func (c *cluster) begin() uint64 { return c.epoch.Load() }

// noteOK records the success of an operation that an OSD served (a write
// with librbd's cache off, a probe's object read, an image's open): it is
// evidence that data I/O works, so a connection that was down when the
// operation began is up again. Operations that can succeed without an OSD
// (reads of objects the object map says do not exist, a flush with the
// cache off, the size and stat from the cached header, discards of
// nothing) report noteDone instead.
func (c *cluster) noteOK(op string, began uint64) {
	c.lastOK.Store(time.Now().UnixNano())
	if !isDown(began) {
		return
	}
	c.hmu.Lock()
	defer c.hmu.Unlock()
	if c.epoch.Load() != began {
		return // up already, or down again since
	}
	c.downErr = ""
	c.upBy = op
	c.epoch.Store(began + 1)
}

// noteDone records the success of an operation that librbd may have
// completed without an OSD: it does not show that the connection is up,
// but if it is down the supervisor probes it without waiting out its
// backoff.
func (c *cluster) noteDone() {
	if !c.down() {
		return
	}
	select {
	case c.hint <- struct{}{}:
	default:
	}
}

// noteError records a failed operation; a lost connection marks it down
// and wakes the supervisor. A failure of an operation that began before the
// connection last recovered is stale and ignored.
func (c *cluster) noteError(op string, began uint64, errno syscall.Errno) {
	if !lostConnection(errno) {
		return
	}
	msg := fmt.Sprintf("cluster connection lost (%s): %s: %v", c.describe(), op, errno)
	if errno == syscall.ETIMEDOUT {
		msg = fmt.Sprintf("cluster connection lost (%s): %s timed out after %v", c.describe(), op, c.timeout)
	}
	c.hmu.Lock()
	switch e := c.epoch.Load(); {
	case isDown(e):
		c.downErr = msg // still down: the latest cause
	case e == began:
		c.downErr = msg
		c.downAt = time.Now()
		c.lastLoss.Store(&msg)
		c.losses.Add(1)
		c.epoch.Store(e + 1)
	default:
		c.hmu.Unlock()
		return
	}
	c.hmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// noteReconnectFailed replaces the cause of a connection that is down.
func (c *cluster) noteReconnectFailed(err error) {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	if c.down() {
		c.downErr = fmt.Sprintf("cluster connection lost (%s); reconnecting failed: %v", c.describe(), err)
	}
}

func (c *cluster) describe() string {
	conf := c.key.conf
	if conf == "" {
		conf = "default ceph.conf"
	}
	id := c.key.id
	if id == "" {
		id = "admin"
	}
	return fmt.Sprintf("conf %s, client.%s", conf, id)
}

// supervise checks an idle connection now and then, and recovers a
// connection that went down: it probes the images and, when the probe
// fails or the cluster shut this client out, connects again and reopens
// every image, retrying with backoff until the cluster answers.
func (c *cluster) supervise() {
	backoff := reconnectMin
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
		case <-c.wake:
		}
		if !c.down() {
			if time.Since(time.Unix(0, c.lastOK.Load())) < probeEvery {
				continue
			}
			c.probe()
			if !c.down() {
				continue
			}
		}
		// Down: recover, with backoff, until up or closed. A client the
		// cluster shut out (blocklisted) or whose session is gone needs
		// a new connection; one whose operations time out (an OSD or the
		// network away) usually recovers by itself once the cluster is
		// back, and is replaced only if it still fails after a few
		// attempts, in case it is wedged.
		failures := 0
		for c.down() {
			errno, ok := c.probe()
			if ok {
				break
			}
			failures++
			if errno == syscall.ESHUTDOWN || errno == syscall.ENOTCONN || failures%4 == 0 {
				if err := c.reconnect(); err == nil {
					continue // probe the new connection
				} else {
					c.noteReconnectFailed(err)
				}
			}
			select {
			case <-c.done:
				return
			case <-time.After(backoff):
			case <-c.hint:
				// An operation succeeded: probe now, after the
				// shortest wait (hints come at the rate of I/O).
				select {
				case <-c.done:
					return
				case <-time.After(reconnectMin):
				}
			}
			backoff = min(2*backoff, reconnectMax)
		}
		backoff = reconnectMin
	}
}

// probe reads the header object of one image from its OSD (a round trip
// bounded by the timeout, which neither librbd nor librados can answer
// from what they hold); with no image open, nothing reports the
// connection's health and it asks the monitors for the cluster's usage
// instead. ok means the cluster answered.
func (c *cluster) probe() (syscall.Errno, bool) {
	began := c.begin()
	c.mu.Lock()
	var im *Image
	for i := range c.images {
		im = i
		break
	}
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		return syscall.ENOTCONN, false
	}
	var err error
	if im != nil {
		err = im.probe()
	} else {
		_, err = conn.GetClusterStats()
	}
	errno, _ := errnoOf(err) // 0 for an image closed meanwhile: no news
	if err == nil || (errno != 0 && !lostConnection(errno)) {
		// The cluster answered (with the object, or with an error of
		// its own, such as no such object for an image removed).
		c.noteOK("probe", began)
		return errno, true
	}
	c.noteError("probe", began, errno)
	return errno, false
}

// reconnect replaces the connection with a new one and reopens every image
// on it. The old connection is shut down once no image uses it.
func (c *cluster) reconnect() error {
	cfg := Config{Conf: c.key.conf, ID: c.key.id, Timeout: c.timeout}
	conn, _, err := connect(cfg)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		conn.Shutdown()
		return errors.New("closed")
	}
	images := make([]*Image, 0, len(c.images))
	for im := range c.images {
		images = append(images, im)
	}
	c.mu.Unlock()
	// Every image is opened on the new connection before any is moved,
	// so that a failure leaves all of them on the old one.
	handles := make([]*handle, 0, len(images))
	for _, im := range images {
		h, err := openHandle(c, conn, im.cfg)
		if err != nil {
			for _, h := range handles {
				h.close()
			}
			conn.Shutdown()
			return err
		}
		handles = append(handles, h)
	}
	olds := make([]*handle, len(images))
	for i, im := range images {
		olds[i] = im.swap(handles[i])
	}
	c.mu.Lock()
	old := c.conn
	c.conn = conn
	c.mu.Unlock()
	c.recovers.Add(1)
	// Closing an image on a lost connection may wait for the timeout
	// (librbd releases its lock); nothing waits for that.
	go func() {
		for _, h := range olds {
			h.close()
		}
		if old != nil {
			old.Shutdown()
		}
	}()
	return nil
}

func (c *cluster) addImage(im *Image) {
	c.mu.Lock()
	c.images[im] = struct{}{}
	c.mu.Unlock()
}

func (c *cluster) removeImage(im *Image) {
	c.mu.Lock()
	delete(c.images, im)
	c.mu.Unlock()
}

func (c *cluster) currentConn() *rados.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn
}
