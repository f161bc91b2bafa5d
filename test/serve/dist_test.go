package serve_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// distDir is the repository's dist/ folder.
func distDir(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test's source")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "dist")
}

// install.sh stages the binary and both units into DESTDIR with the
// modes systemd and the control socket expect, rewriting the binary's path
// for another PREFIX.
func TestInstallScriptStagesUnits(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	root := t.TempDir()
	bin := filepath.Join(t.TempDir(), "tcmsh")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", filepath.Join(distDir(t), "install.sh"), "--binary", bin)
	cmd.Env = append(os.Environ(), "DESTDIR="+root, "PREFIX=/opt/tcmsh")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	for path, mode := range map[string]os.FileMode{
		"opt/tcmsh/bin/tcmsh":                      0o755,
		"etc/systemd/system/tcmsh.service":         0o644,
		"etc/systemd/system/tcmsh-restore.service": 0o644,
		"etc/target":                           0o700 | os.ModeDir,
		"usr/share/dbus-1/system.d/tcmsh.conf": 0o644,
	} {
		st, err := os.Stat(filepath.Join(root, path))
		if err != nil {
			t.Errorf("not installed: %v", err)
			continue
		}
		if st.Mode()&(os.ModePerm|os.ModeDir) != mode {
			t.Errorf("%s: mode %v, want %v", path, st.Mode(), mode)
		}
	}
	unit, _ := os.ReadFile(filepath.Join(root, "etc/systemd/system/tcmsh.service"))
	if !strings.Contains(string(unit), "ExecStart=/opt/tcmsh/bin/tcmsh --kernel real serve") || strings.Contains(string(unit), "/usr/local/bin") {
		t.Errorf("installed unit does not name the installed binary:\n%s", unit)
	}

	cmd = exec.Command("sh", filepath.Join(distDir(t), "install.sh"), "--uninstall")
	cmd.Env = append(os.Environ(), "DESTDIR="+root, "PREFIX=/opt/tcmsh")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install.sh --uninstall: %v\n%s", err, out)
	}
	for _, path := range []string{"etc/systemd/system/tcmsh.service", "usr/share/dbus-1/system.d/tcmsh.conf"} {
		if _, err := os.Stat(filepath.Join(root, path)); !os.IsNotExist(err) {
			t.Errorf("%s left after --uninstall: %v", path, err)
		}
	}
}

// The units pass `systemd-analyze verify` (when systemd's tools are
// installed), with the binary's path pointed at a stand-in executable.
func TestUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	dir := t.TempDir()
	stand := filepath.Join(dir, "tcmsh")
	if err := os.WriteFile(stand, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var units []string
	for _, name := range []string{"tcmsh.service", "tcmsh-restore.service"} {
		b, err := os.ReadFile(filepath.Join(distDir(t), name))
		if err != nil {
			t.Fatal(err)
		}
		unit := strings.ReplaceAll(string(b), "/usr/local/bin/tcmsh", stand)
		// verify wants every ExecStart* program to exist; a machine
		// without kmod gets the stand-in for modprobe too.
		if _, err := os.Stat("/sbin/modprobe"); err != nil {
			unit = strings.ReplaceAll(unit, "/sbin/modprobe", stand)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
		units = append(units, p)
	}
	out, err := exec.Command(analyze, append([]string{"verify"}, units...)...).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
