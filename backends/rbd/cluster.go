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

	mu       sync.Mutex
	conn     *rados.Conn
	refs     int // open images plus validations in progress, guarded by poolMu
	images   map[*Image]struct{}
	closed   bool
	down     atomic.Bool
	downErr  atomic.Pointer[string]
	downAt   atomic.Int64 // when it went down, UnixNano
	lastOK   atomic.Int64
	recovers atomic.Int64 // reconnections done, for tests and logs
	losses   atomic.Int64 // times the connection went down
	lastLoss atomic.Pointer[string]
	wake     chan struct{}
	done     chan struct{}
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
		images: map[*Image]struct{}{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
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
	if !c.down.Load() {
		return nil
	}
	since := time.Unix(0, c.downAt.Load()).UTC().Format(time.TimeOnly)
	if p := c.downErr.Load(); p != nil {
		return fmt.Errorf("%s (down since %s UTC)", *p, since)
	}
	return fmt.Errorf("cluster connection down since %s UTC", since)
}

// noteOK records a successful operation: the connection is up.
func (c *cluster) noteOK() {
	c.lastOK.Store(time.Now().UnixNano())
	if c.down.Load() {
		c.setUp()
	}
}

// noteError records a failed operation; a lost connection marks it down
// and wakes the supervisor.
func (c *cluster) noteError(op string, errno syscall.Errno) {
	if !lostConnection(errno) {
		return
	}
	msg := fmt.Sprintf("cluster connection lost (%s): %s: %v", c.describe(), op, errno)
	if errno == syscall.ETIMEDOUT {
		msg = fmt.Sprintf("cluster connection lost (%s): %s timed out after %v", c.describe(), op, c.timeout)
	}
	if !c.down.Load() {
		c.downAt.Store(time.Now().UnixNano()) // before down, which Health reads first
	}
	c.downErr.Store(&msg)
	c.lastLoss.Store(&msg)
	if !c.down.Swap(true) {
		c.losses.Add(1)
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *cluster) setUp() {
	c.down.Store(false)
	c.downErr.Store(nil)
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
		if !c.down.Load() {
			if time.Since(time.Unix(0, c.lastOK.Load())) < probeEvery {
				continue
			}
			if errno, ok := c.probe(); ok || !lostConnection(errno) {
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
		for c.down.Load() {
			errno, ok := c.probe()
			if ok {
				break
			}
			failures++
			if errno == syscall.ESHUTDOWN || errno == syscall.ENOTCONN || failures%4 == 0 {
				if err := c.reconnect(); err == nil {
					continue // probe the new connection
				} else {
					msg := fmt.Sprintf("cluster connection lost (%s); reconnecting failed: %v", c.describe(), err)
					c.downErr.Store(&msg)
				}
			}
			select {
			case <-c.done:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, reconnectMax)
		}
		backoff = reconnectMin
	}
}

// probe reads one sector of one image (an OSD round trip, bounded by the
// timeout); with no image open it asks the monitors for the cluster's
// usage instead. ok means the cluster answered.
func (c *cluster) probe() (syscall.Errno, bool) {
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
	if err == nil {
		c.noteOK()
		return 0, true
	}
	errno, _ := errnoOf(err)
	c.noteError("probe", errno)
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
