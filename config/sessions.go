package config

import (
	"context"
	"path"
	"regexp"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
)

// Session is one initiator logged in, as `sessions` lists it.
type Session struct {
	Path      string `json:"path"`
	Initiator string `json:"initiator"`
	Active    bool   `json:"active"`
	// Dynamic: a demo-mode session (generate_node_acls=1) of an initiator
	// without an ACL, which targetcli-fb does not list.
	Dynamic bool   `json:"dynamic"`
	Info    string `json:"info"`
}

// lioSessionID is how an iSCSI ACL's info names its session:
// "LIO Session ID: 1   ISID: 0x… TSIH: 1".
var lioSessionID = regexp.MustCompile(`LIO Session ID: (\d+)`)

// sessionID is the SID of an ACL's session info, as targetcli-fb's
// `sessions detail SID` matches it; "" when there is none.
func sessionID(info string) string {
	if m := lioSessionID.FindStringSubmatch(info); m != nil {
		return m[1]
	}
	return ""
}

// dynamicSessions parses an iSCSI TPG's dynamic_sessions: each initiator
// name ends with a newline and, as 6.1 counts it, a NUL byte.
func dynamicSessions(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == 0 }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Sessions lists the initiators logged in: each TPG's I_T nexus
// (loopback, vhost), each ACL with an active session (its info, as the
// kernel shows it) and, on iSCSI, demo-mode logins without an ACL (from
// the TPG's dynamic_sessions, which targetcli-fb does not show). With sid,
// only the ACL session whose LIO Session ID it is.
func (st Store) Sessions(ctx context.Context, sid string) ([]Session, error) {
	l := st.LIO
	var out []Session
	err := l.EachTPG(func(tpg configfs.TPG) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if nx := l.Nexus(tpg); nx != "" {
			out = append(out, Session{Path: TPGNodePath(tpg), Initiator: nx, Active: true, Info: "I_T nexus"})
		}
		acls, err := l.ACLs(tpg)
		if err != nil {
			return nil
		}
		// Demo-mode logins have no ACL and no SID to match.
		if tpg.Target.Fabric == "iscsi" && sid == "" {
			if raw, err := l.ReadAttr(path.Join(tpg.Path(), "dynamic_sessions")); err == nil {
				for _, ini := range dynamicSessions(raw) {
					out = append(out, Session{Path: TPGNodePath(tpg), Initiator: ini, Active: true, Dynamic: true,
						Info: "dynamic session (generate_node_acls=1, no ACL)"})
				}
			}
		}
		for _, acl := range acls {
			info, err := l.ReadAttr(path.Join(acl.Path(), "info"))
			if err != nil || strings.HasPrefix(info, "No active") {
				continue
			}
			if sid != "" && sessionID(info) != sid {
				continue
			}
			out = append(out, Session{Path: path.Join(TPGNodePath(tpg), "acls", acl.NodeWWN), Initiator: acl.NodeWWN, Active: true, Info: info})
		}
		return nil
	})
	return out, err
}
