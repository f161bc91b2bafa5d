package engine

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/scsi"
)

// configfsALUA is a served device's target port groups, read from and
// written to the kernel's configfs (core/<hba>/<device>/alua/<group>) on
// every use: another shell, targetcli or the kernel may change them at
// any time, and they are asked for rarely (at attach and by multipath's
// checkers).
type configfsALUA struct {
	lio        *configfs.LIO
	configPath string // target/core/user_N/<name>
}

var _ scsi.ALUA = (*configfsALUA)(nil)

// aluaSupport maps the alua_support_* attributes to their bits.
var aluaSupport = []struct {
	attr string
	bit  byte
}{
	{"alua_support_transitioning", scsi.ALUASupportsTransitioning},
	{"alua_support_offline", scsi.ALUASupportsOffline},
	{"alua_support_lba_dependent", scsi.ALUASupportsLBADependent},
	{"alua_support_unavailable", scsi.ALUASupportsUnavailable},
	{"alua_support_standby", scsi.ALUASupportsStandby},
	{"alua_support_active_nonoptimized", scsi.ALUASupportsActiveNonOptimized},
	{"alua_support_active_optimized", scsi.ALUASupportsActiveOptimized},
}

// PortGroups reads every group with an ID, in ID order.
func (a *configfsALUA) PortGroups() ([]scsi.PortGroup, error) {
	dir := path.Join(a.configPath, "alua")
	entries, err := a.lio.FS().ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("engine: ALUA groups of %s: %w", a.configPath, err)
	}
	var groups []scsi.PortGroup
	for _, e := range entries {
		if e.Kind != configfs.KindDir {
			continue
		}
		g, ok, err := a.group(path.Join(dir, e.Name))
		if err != nil {
			return nil, err
		}
		if ok {
			groups = append(groups, g)
		}
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].ID < groups[j].ID })
	return groups, nil
}

// group reads one group; ok is false for a group without an ID (the
// kernel leaves it out of everything until it gets one).
func (a *configfsALUA) group(dir string) (g scsi.PortGroup, ok bool, err error) {
	read := func(name string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = a.lio.ReadAttr(path.Join(dir, name))
		return strings.TrimSpace(strings.Trim(v, "\x00"))
	}
	num := func(name string, bits int) uint64 {
		v := read(name)
		if err != nil {
			return 0
		}
		n, perr := strconv.ParseUint(v, 10, bits)
		if perr != nil {
			err = fmt.Errorf("engine: %s: %q is not a number", path.Join(dir, name), v)
		}
		return n
	}
	if read("tg_pt_gp_id") == "" {
		return g, false, err
	}
	g.ID = uint16(num("tg_pt_gp_id", 16))
	state := read("alua_access_state")
	if err == nil {
		g.State, err = scsi.ParseALUAState(state)
	}
	for _, s := range aluaSupport {
		if num(s.attr, 1) == 1 {
			g.Supported |= s.bit
		}
	}
	switch read("alua_access_status") {
	case "Altered by Explicit STPG":
		g.Status = scsi.ALUAStatusExplicitSTPG
	case "Altered by Implicit ALUA":
		g.Status = scsi.ALUAStatusImplicit
	}
	switch read("alua_access_type") {
	case "Implicit":
		g.Implicit = true
	case "Explicit":
		g.Explicit = true
	case "Implicit and Explicit":
		g.Implicit, g.Explicit = true, true
	}
	g.Preferred = num("preferred", 1) == 1
	g.TransitionSecs = byte(num("implicit_trans_secs", 8))
	members := read("members")
	if err != nil {
		return g, false, err
	}
	for _, m := range strings.Split(members, "\n") {
		m = strings.Trim(m, "\x00 ")
		if m == "" {
			continue
		}
		rtpi, rerr := a.relativePort(m)
		if rerr != nil {
			return g, false, rerr
		}
		g.Ports = append(g.Ports, rtpi)
	}
	return g, true, nil
}

// relativePort reads the relative target port identifier of a group
// member, "<fabric>/<wwn>/tpgt_<N>/lun_<M>" as the members attribute
// lists it (the fabric by its name, which for iSCSI is not its directory).
func (a *configfsALUA) relativePort(member string) (uint16, error) {
	parts := strings.Split(member, "/")
	if len(parts) != 4 {
		return 0, fmt.Errorf("engine: ALUA member %q: want <fabric>/<wwn>/tpgt_<N>/lun_<M>", member)
	}
	p := path.Join(configfs.Root, strings.ToLower(parts[0]), parts[1], parts[2], "lun", parts[3], "statistics", "scsi_port", "indx")
	v, err := a.lio.ReadAttr(p)
	if err != nil {
		return 0, fmt.Errorf("engine: relative port of ALUA member %q: %w", member, err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 16)
	if err != nil {
		return 0, fmt.Errorf("engine: %s: %q is not a relative port", p, v)
	}
	return uint16(n), nil
}

// SetPortGroupStates writes each group's new state to alua_access_state
// (the kernel moves the group and queues ASYMMETRIC ACCESS STATE CHANGED
// for the initiators), then marks it altered by SET TARGET PORT GROUPS.
// configfs takes the state only where implicit ALUA is on, as tcmu-runner
// also needs.
func (a *configfsALUA) SetPortGroupStates(states map[uint16]byte) error {
	dir := path.Join(a.configPath, "alua")
	entries, err := a.lio.FS().ReadDir(dir)
	if err != nil {
		return fmt.Errorf("engine: ALUA groups of %s: %w", a.configPath, err)
	}
	byID := map[uint16]string{}
	for _, e := range entries {
		id, err := a.lio.ReadAttr(path.Join(dir, e.Name, "tg_pt_gp_id"))
		if n, perr := strconv.ParseUint(strings.TrimSpace(id), 10, 16); err == nil && perr == nil {
			byID[uint16(n)] = e.Name
		}
	}
	ids := make([]int, 0, len(states))
	for id := range states {
		ids = append(ids, int(id))
	}
	sort.Ints(ids)
	for _, id := range ids {
		name, ok := byID[uint16(id)]
		if !ok {
			return fmt.Errorf("engine: %s has no ALUA group with ID %d", a.configPath, id)
		}
		g := path.Join(dir, name)
		if err := a.lio.WriteAttr(path.Join(g, "alua_access_state"), strconv.Itoa(int(states[uint16(id)]))); err != nil {
			return fmt.Errorf("engine: set ALUA group %s to state %d: %w", g, states[uint16(id)], err)
		}
		if err := a.lio.WriteAttr(path.Join(g, "alua_access_status"), strconv.Itoa(scsi.ALUAStatusExplicitSTPG)); err != nil {
			return fmt.Errorf("engine: mark ALUA group %s altered by SET TARGET PORT GROUPS: %w", g, err)
		}
	}
	return nil
}

// localCopyTargets lets EXTENDED COPY reach every disk this engine serves.
type localCopyTargets struct{ l *Local }

// DiskByNAA finds the served disk whose VPD 0x83 NAA designator is naa.
func (c localCopyTargets) DiskByNAA(naa [16]byte) *scsi.Disk {
	for _, s := range c.l.servedDevices() {
		if s.disk == nil {
			continue
		}
		if n, ok := s.disk.NAA(); ok && n == naa {
			return s.disk
		}
	}
	return nil
}
