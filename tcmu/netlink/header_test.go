package netlink

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// uapiHeader is where Debian's linux-libc-dev installs the TCMU uapi header.
const uapiHeader = "/usr/include/linux/target_core_user.h"

// enumMembers lists the members of a C enum in order (all of them start
// at 0 and count up: the header assigns no values).
func enumMembers(t *testing.T, src, name string) []string {
	t.Helper()
	m := regexp.MustCompile(`enum ` + name + `\s*\{([^}]*)\}`).FindStringSubmatch(src)
	if m == nil {
		t.Fatalf("enum %s not found in %s", name, uapiHeader)
	}
	var out []string
	for _, f := range strings.Split(m[1], ",") {
		if f = strings.TrimSpace(f); f != "" {
			if strings.Contains(f, "=") {
				t.Fatalf("enum %s assigns values (%q): update this test", name, f)
			}
			out = append(out, f)
		}
	}
	return out
}

func TestConstantsMatchKernelHeader(t *testing.T) {
	b, err := os.ReadFile(uapiHeader)
	if err != nil {
		t.Skipf("no uapi header (install linux-libc-dev): %v", err)
	}
	src := string(b)
	cmds := enumMembers(t, src, "tcmu_genl_cmd")
	for name, v := range map[string]Command{
		"TCMU_CMD_ADDED_DEVICE": CmdAddedDevice, "TCMU_CMD_REMOVED_DEVICE": CmdRemovedDevice,
		"TCMU_CMD_RECONFIG_DEVICE": CmdReconfigDevice, "TCMU_CMD_ADDED_DEVICE_DONE": CmdAddedDeviceDone,
		"TCMU_CMD_REMOVED_DEVICE_DONE": CmdRemovedDeviceDone, "TCMU_CMD_RECONFIG_DEVICE_DONE": CmdReconfigDeviceDone,
		"TCMU_CMD_SET_FEATURES": CmdSetFeatures,
	} {
		if int(v) >= len(cmds) || cmds[v] != name {
			t.Errorf("%s: header has %v, we use %d", name, cmds, v)
		}
	}
	as := enumMembers(t, src, "tcmu_genl_attr")
	for name, v := range map[string]uint16{
		"TCMU_ATTR_DEVICE": AttrDevice, "TCMU_ATTR_MINOR": AttrMinor, "TCMU_ATTR_PAD": AttrPad,
		"TCMU_ATTR_DEV_CFG": AttrDevCfg, "TCMU_ATTR_DEV_SIZE": AttrDevSize, "TCMU_ATTR_WRITECACHE": AttrWriteCache,
		"TCMU_ATTR_CMD_STATUS": AttrCmdStatus, "TCMU_ATTR_DEVICE_ID": AttrDeviceID,
		"TCMU_ATTR_SUPP_KERN_CMD_REPLY": AttrSuppKernCmdReply,
	} {
		if int(v) >= len(as) || as[v] != name {
			t.Errorf("%s: header has %v, we use %d", name, as, v)
		}
	}
}
