package tcmuservice_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/tcmsh/tcmsh/serve/tcmuservice"
)

// privateBus starts a dbus-daemon of its own for the test and returns its
// address. The policy lets anyone own any name, as the system bus's
// tcmu-runner policy lets root.
func privateBus(t *testing.T) string {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("no dbus-daemon (Debian package dbus-daemon; .ci/run installs it)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path=`+filepath.Join(dir, "bus")+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config-file="+conf, "--nofork", "--print-address=1", "--nopidfile")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting dbus-daemon: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		addr <- strings.TrimSpace(line)
	}()
	select {
	case a := <-addr:
		if a == "" {
			t.Fatal("dbus-daemon printed no address")
		}
		return a
	case <-time.After(20 * time.Second):
		t.Fatal("dbus-daemon did not print its address")
	}
	return ""
}

// checkFile refuses what the engine's backends would refuse, by name.
func checkFile(devConfig string) error {
	if strings.HasPrefix(devConfig, "file/") && !strings.HasPrefix(devConfig, "file//") {
		return errors.New("file: path is not absolute")
	}
	return nil
}

func offer(t *testing.T, addr string) *tcmuservice.Service {
	t.Helper()
	s, err := tcmuservice.Offer(addr, tcmuservice.Options{
		Handlers: []tcmuservice.Handler{
			{Subtype: "ram", ConfigDesc: "ram/[chunk=SIZE]"},
			{Subtype: "file", ConfigDesc: "file/<path>[;option...]"},
		},
		Check: checkFile,
	})
	if err != nil {
		t.Fatalf("Offer: %v", err)
	}
	return s
}

func client(t *testing.T, addr string) *dbus.Conn {
	t.Helper()
	c, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestWhatTargetcliAsks makes the calls targetcli-fb makes, in its order:
// the managed objects at the root (a /backstores/user:<subtype> node each,
// ConfigDesc for `help create`), the properties of one handler (a Gio
// proxy loads them), then CheckConfig before `create`.
func TestWhatTargetcliAsks(t *testing.T) {
	addr := privateBus(t)
	s := offer(t, addr)
	defer s.Close()
	c := client(t, addr)

	var objects map[dbus.ObjectPath]map[string]map[string]dbus.Variant
	if err := c.Object(tcmuservice.BusName, tcmuservice.RootPath).Call("org.freedesktop.DBus.ObjectManager.GetManagedObjects", 0).Store(&objects); err != nil {
		t.Fatalf("GetManagedObjects: %v", err)
	}
	got := map[string]string{}
	for path, ifaces := range objects {
		desc, ok := ifaces[tcmuservice.HandlerInterface]["ConfigDesc"]
		if !ok {
			t.Errorf("%s: no %s ConfigDesc in %v", path, tcmuservice.HandlerInterface, ifaces)
			continue
		}
		got[string(path)] = desc.Value().(string)
	}
	want := map[string]string{
		"/org/kernel/TCMUService1/file": "file/<path>[;option...]",
		"/org/kernel/TCMUService1/ram":  "ram/[chunk=SIZE]",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("managed objects: got %v, want %v", got, want)
	}

	file := c.Object(tcmuservice.BusName, "/org/kernel/TCMUService1/file")
	var props map[string]dbus.Variant
	if err := file.Call("org.freedesktop.DBus.Properties.GetAll", 0, tcmuservice.HandlerInterface).Store(&props); err != nil {
		t.Fatalf("GetAll: %v", err)
	}
	if d, _ := props["ConfigDesc"].Value().(string); d != "file/<path>[;option...]" {
		t.Errorf("GetAll ConfigDesc = %q", d)
	}
	var one dbus.Variant
	if err := file.Call("org.freedesktop.DBus.Properties.Get", 0, tcmuservice.HandlerInterface, "ConfigDesc").Store(&one); err != nil || one.Value() != "file/<path>[;option...]" {
		t.Errorf("Get ConfigDesc = %v, %v", one, err)
	}
	if err := file.Call("org.freedesktop.DBus.Properties.Set", 0, tcmuservice.HandlerInterface, "ConfigDesc", dbus.MakeVariant("x")).Err; err == nil {
		t.Error("Set ConfigDesc succeeded; it is read-only")
	}

	for _, tt := range []struct {
		obj, config string
		ok          bool
		msg         string
	}{
		{"file", "file//var/lib/disk.img", true, "success"},
		{"file", "file/relative.img", false, "path is not absolute"},
		{"file", "ram/", false, "not for handler file"},
		{"ram", "ram/", true, "success"},
		{"ram", "ramx/", false, "not for handler ram"},
	} {
		var ok bool
		var msg string
		obj := c.Object(tcmuservice.BusName, dbus.ObjectPath("/org/kernel/TCMUService1/"+tt.obj))
		if err := obj.Call(tcmuservice.HandlerInterface+".CheckConfig", 0, tt.config).Store(&ok, &msg); err != nil {
			t.Fatalf("CheckConfig(%q): %v", tt.config, err)
		}
		if ok != tt.ok || !strings.Contains(msg, tt.msg) {
			t.Errorf("%s CheckConfig(%q) = %v, %q; want %v, …%q…", tt.obj, tt.config, ok, msg, tt.ok, tt.msg)
		}
	}

	var ok bool
	var msg string
	if err := c.Object(tcmuservice.BusName, tcmuservice.ManagerPath).Call(tcmuservice.ManagerInterface+".RegisterHandler", 0, "qcow", "x").Store(&ok, &msg); err != nil {
		t.Fatalf("RegisterHandler: %v", err)
	}
	if ok || !strings.Contains(msg, "qcow") {
		t.Errorf("RegisterHandler = %v, %q; want a refusal naming the subtype", ok, msg)
	}

	var xml string
	if err := c.Object(tcmuservice.BusName, tcmuservice.RootPath).Call("org.freedesktop.DBus.Introspectable.Introspect", 0).Store(&xml); err != nil {
		t.Fatalf("Introspect: %v", err)
	}
	for _, w := range []string{`<node name="file">`, `<node name="ram">`, `<node name="HandlerManager1">`, "GetManagedObjects"} {
		if !strings.Contains(xml, w) {
			t.Errorf("root introspection lacks %s:\n%s", w, xml)
		}
	}
}

// TestNameTaken: a second daemon (or tcmu-runner running) is refused with
// the owner named, and the name is free again after Close.
func TestNameTaken(t *testing.T) {
	addr := privateBus(t)
	s := offer(t, addr)
	_, err := tcmuservice.Offer(addr, tcmuservice.Options{Check: checkFile})
	if !errors.Is(err, tcmuservice.ErrNameTaken) {
		t.Fatalf("second Offer: %v, want ErrNameTaken", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("error does not name the owner (pid %d): %v", os.Getpid(), err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c := client(t, addr)
	var has bool
	if err := c.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, tcmuservice.BusName).Store(&has); err != nil || has {
		t.Fatalf("after Close the name has an owner: %v %v", has, err)
	}
	s2 := offer(t, addr)
	s2.Close()
}

// TestBadSubtypeName: a subtype that cannot be an object path element is
// refused before anything is exported.
func TestBadSubtypeName(t *testing.T) {
	addr := privateBus(t)
	_, err := tcmuservice.Offer(addr, tcmuservice.Options{Handlers: []tcmuservice.Handler{{Subtype: "my-type"}}, Check: checkFile})
	if err == nil || !strings.Contains(err.Error(), "my-type") {
		t.Fatalf("Offer with subtype my-type: %v", err)
	}
}
