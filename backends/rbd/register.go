//go:build rbd

package rbd

import "github.com/tcmsh/tcmsh/backends"

func init() {
	backends.Register(backends.Registration{
		Subtype: backends.Subtype{
			Name:    "rbd",
			Summary: "a Ceph RBD image through librbd (tcmu-runner's cfgstring)",
			Help:    Help,
			Options: Options,
		},
		Validate: Validate,
		Open: func(cfg string, size int64, _ uint32) (backends.Backend, error) {
			return Open(cfg, size)
		},
	})
}
