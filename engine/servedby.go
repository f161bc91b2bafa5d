package engine

import (
	"context"

	"github.com/tcmsh/tcmsh/tcmu/uio"
)

// ServedBy names the uio device of the user backstore at configPath on the
// real kernel and who holds it: a tcmu-runner (which tcmsh must then
// leave alone), tcmsh's engine eng (in this process or the daemon; nil:
// none), or nobody.
func ServedBy(eng Engine, configPath string) (uioName, servedBy string) {
	devs, err := uio.Scan("")
	if err != nil {
		return "", "unknown: " + err.Error()
	}
	for _, d := range devs {
		if d.Err != nil || d.ConfigPath() != configPath {
			continue
		}
		runners, _ := uio.FindRunners("", "")
		if r, ok := uio.HeldBy(runners, d.Minor); ok {
			return d.UIO, r.String()
		}
		if eng != nil {
			if stats, err := eng.Stats(context.Background()); err == nil {
				for _, st := range stats {
					if st.ConfigPath == configPath {
						if eng.InProcess() {
							return d.UIO, "this tcmsh process"
						}
						return d.UIO, "the tcmsh serve daemon"
					}
				}
			}
		}
		return d.UIO, "nobody (commands to it wait until a handler opens /dev/" + d.UIO + ")"
	}
	return "", "no uio device (the backstore is not enabled)"
}
