package engine

import (
	"context"
	"errors"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tcmsh/tcmsh/backends"
)

// clusterLike is a backend that, like an RBD image, can lose its storage
// and be resized from outside: the test sets its health and size.
type clusterLike struct {
	backends.Backend // ram, large enough for every size the test sets
	size             atomic.Int64
	mu               sync.Mutex
	health           error
	changed          func(int64)
	watchStopped     bool
}

func (c *clusterLike) Size() int64 { return c.size.Load() }

// Caps claims nothing optional: the embedded ram's methods are hidden.
func (c *clusterLike) Caps() backends.Caps { return backends.Caps{} }

func (c *clusterLike) Health() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.health
}

func (c *clusterLike) WatchSize(changed func(int64)) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changed = changed
	return func() {
		c.mu.Lock()
		c.watchStopped = true
		c.mu.Unlock()
	}
}

// resize changes the size as the cluster would and tells the watcher.
func (c *clusterLike) resize(size int64) {
	c.size.Store(size)
	c.mu.Lock()
	changed := c.changed
	c.mu.Unlock()
	changed(size)
}

var clusterLikeOpened = make(chan *clusterLike, 1)

func init() {
	backends.Register(backends.Registration{
		Subtype:  backends.Subtype{Name: "clusterlike", Summary: "test backend with health and size watch", Help: "clusterlike/\n\nExample:\n  clusterlike/"},
		Validate: func(string, int64) error { return nil },
		Open: func(_ string, size int64, bs uint32) (backends.Backend, error) {
			ram, err := backends.Open("ram/", 64<<20, bs)
			if err != nil {
				return nil, err
			}
			c := &clusterLike{Backend: ram}
			c.size.Store(size)
			clusterLikeOpened <- c
			return c, nil
		},
	})
}

// TestBackendHealthAndResize: a backend's health is the device's
// BackendError, and a size change seen by its watcher becomes the
// backstore's dev_size and the disk's capacity.
func TestBackendHealthAndResize(t *testing.T) {
	l, lio, so := servedOnSim(t, "c1", "clusterlike/")
	b := <-clusterLikeOpened
	s := l.served(so.Path())

	for _, tc := range []struct {
		name   string
		health error
		want   string
	}{
		{"healthy", nil, ""},
		{"lost", errors.New("cluster connection lost: read timed out after 5s"), "cluster connection lost: read timed out after 5s"},
		{"recovered", nil, ""},
	} {
		b.mu.Lock()
		b.health = tc.health
		b.mu.Unlock()
		st, err := l.Stats(context.Background())
		if err != nil || len(st) != 1 {
			t.Fatalf("%s: Stats = %v, %v", tc.name, st, err)
		}
		if st[0].BackendError != tc.want {
			t.Errorf("%s: BackendError %q, want %q", tc.name, st[0].BackendError, tc.want)
		}
	}

	for _, tc := range []struct {
		name       string
		size       int64
		wantBlocks uint64
	}{
		{"grown", 4 << 20, 4 << 20 >> 9},
		{"grown by less than a block", 4<<20 + 100, 4 << 20 >> 9},
		{"shrunk", 2 << 20, 2 << 20 >> 9},
	} {
		b.resize(tc.size)
		if got := s.disk.Blocks(); got != tc.wantBlocks {
			t.Errorf("%s: %d blocks, want %d", tc.name, got, tc.wantBlocks)
		}
		v, err := lio.ReadAttr(path.Join(so.Path(), "attrib", "dev_size"))
		if err != nil || strings.TrimSpace(v) != strconv.FormatUint(tc.wantBlocks<<9, 10) {
			t.Errorf("%s: dev_size %q, %v; want %d", tc.name, v, err, tc.wantBlocks<<9)
		}
	}

	if err := l.Release(context.Background(), so.Path()); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	stopped := b.watchStopped
	b.mu.Unlock()
	if !stopped {
		t.Error("the size watch outlived the served device")
	}
}
