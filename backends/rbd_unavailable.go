package backends

import "errors"

// ErrRBDNotBuilt is what every rbd cfgstring gets from a tcmsh built
// without the rbd build tag (the default, static, pure-Go build).
var ErrRBDNotBuilt = errors.New("this tcmsh was built without RBD support: build with `go build -tags rbd,pacific` (needs cgo, librbd-dev and librados-dev; see the README's RBD section)")

// rbdUnavailable stands for the rbd subtype in a build without it, so that
// `/backstores/user:rbd` exists and says how to get the real one. Package
// backends/rbd, compiled with the rbd tag, registers over it.
var rbdUnavailable = subtype{
	Subtype: Subtype{
		Name:    "rbd",
		Summary: "a Ceph RBD image (not in this build: go build -tags rbd,pacific)",
		Help: `rbd/<pool>/<image>[@snap][;osd_op_timeout=N][;conf=PATH][;id=NAME] — a Ceph RBD image.

This tcmsh was built without RBD support. The rbd subtype needs cgo and
Ceph's client libraries; build it with

  go build -tags rbd,pacific .

(Debian: apt-get install librbd-dev librados-dev; at run time librbd1,
librados2, a ceph.conf and a keyring). See the README's RBD section.

Example:
  rbd/rbd/disk1;osd_op_timeout=30`,
	},
	validate:    func(string, int64) error { return ErrRBDNotBuilt },
	open:        func(string, int64, uint32) (Backend, error) { return nil, ErrRBDNotBuilt },
	placeholder: true,
}
