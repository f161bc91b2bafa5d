// Package tcmuservice offers tcmu-runner's D-Bus service,
// org.kernel.TCMUService1, for `tcmsh serve`, so that targetcli-fb (which
// finds `user:` backstore handlers only there) lists and creates user
// backstores that tcmsh then serves.
//
// What targetcli-fb uses, and so what Offer exports:
//   - /org/kernel/TCMUService1: org.freedesktop.DBus.ObjectManager, whose
//     GetManagedObjects lists one object per subtype with its
//     org.kernel.TCMUService1 properties (targetcli makes a
//     /backstores/user:<subtype> node for each);
//   - /org/kernel/TCMUService1/<subtype>: org.kernel.TCMUService1 with
//     CheckConfig(s configstr) → (b is_valid, s message), called with
//     "<subtype>/<cfgstring>" before `create` writes configfs, and the
//     read-only property ConfigDesc (s), printed by `help create`;
//   - /org/kernel/TCMUService1/HandlerManager1: RegisterHandler, with which
//     tcmu-runner lets another process add a subtype; tcmsh serves its own
//     subtypes only and says so.
//
// The device itself is made by rtslib through configfs; the daemon's
// engine notices it (TCM-USER netlink) and serves it, as tcmu-runner does.
package tcmuservice

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
)

// The names tcmu-runner uses, which targetcli-fb has hard-coded.
const (
	BusName          = "org.kernel.TCMUService1"
	RootPath         = dbus.ObjectPath("/org/kernel/TCMUService1")
	HandlerInterface = "org.kernel.TCMUService1"
	ManagerPath      = dbus.ObjectPath("/org/kernel/TCMUService1/HandlerManager1")
	ManagerInterface = "org.kernel.TCMUService1.HandlerManager1"

	objectManagerInterface = "org.freedesktop.DBus.ObjectManager"
	propertiesInterface    = "org.freedesktop.DBus.Properties"
	introspectableIface    = "org.freedesktop.DBus.Introspectable"
)

// ErrNameTaken is wrapped by Offer's error when another process (most
// likely tcmu-runner) owns org.kernel.TCMUService1.
var ErrNameTaken = errors.New(BusName + " is owned by another process")

// Handler is one subtype offered: its name (the part of dev_config before
// the first '/') and the text targetcli prints as the cfgstring format.
type Handler struct {
	Subtype    string
	ConfigDesc string
}

// Options are what Offer exports.
type Options struct {
	Handlers []Handler
	// Check validates a whole dev_config ("<subtype>/<cfgstring>") before
	// the device exists, so without its size; the error says what is wrong
	// and is what targetcli shows ("cfgstring invalid: …").
	Check func(devConfig string) error
	// Log receives one line per call (debug) and per refusal (info); nil
	// discards.
	Log *slog.Logger
}

// Service is the offered service; Close withdraws it.
type Service struct {
	conn  *dbus.Conn
	paths []dbus.ObjectPath
}

// SystemBus is the address Offer takes for the system bus, the one
// targetcli-fb asks.
const SystemBus = "system"

// Offer connects to the bus at address (SystemBus, or a D-Bus address such
// as "unix:path=/run/dbus/system_bus_socket"), exports the objects and
// takes the name. When the name is owned already, the error wraps
// ErrNameTaken and names the owner's process.
func Offer(address string, opts Options) (*Service, error) {
	if opts.Check == nil {
		return nil, errors.New("tcmuservice: Options.Check is required")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	var conn *dbus.Conn
	var err error
	if address == SystemBus {
		conn, err = dbus.ConnectSystemBus()
	} else {
		conn, err = dbus.Connect(address)
	}
	if err != nil {
		return nil, fmt.Errorf("D-Bus %s bus: %w", address, err)
	}
	s := &Service{conn: conn}
	if err := s.export(opts); err != nil {
		conn.Close()
		return nil, err
	}
	reply, err := conn.RequestName(BusName, dbus.NameFlagDoNotQueue)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("D-Bus: taking the name %s: %w (is there a D-Bus policy allowing this user to own it? dist/tcmsh-dbus.conf is one)", BusName, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		owner := describeOwner(conn, BusName)
		conn.Close()
		return nil, fmt.Errorf("%w: %s; stop it to let tcmsh serve user backstores for targetcli", ErrNameTaken, owner)
	}
	return s, nil
}

// Close gives the name up and leaves the bus.
func (s *Service) Close() error {
	_, relErr := s.conn.ReleaseName(BusName)
	for _, p := range s.paths {
		for _, iface := range []string{HandlerInterface, ManagerInterface, objectManagerInterface, propertiesInterface, introspectableIface} {
			_ = s.conn.Export(nil, p, iface)
		}
	}
	return errors.Join(relErr, s.conn.Close())
}

func (s *Service) export(opts Options) error {
	handlers := slices.Clone(opts.Handlers)
	slices.SortFunc(handlers, func(a, b Handler) int { return strings.Compare(a.Subtype, b.Subtype) })
	managed := map[dbus.ObjectPath]map[string]map[string]dbus.Variant{}
	root := &introspect.Node{Interfaces: []introspect.Interface{objectManagerIntrospection}}
	for _, h := range handlers {
		if !validSubtypeElement(h.Subtype) {
			return fmt.Errorf("tcmuservice: subtype %q cannot be a D-Bus object path element", h.Subtype)
		}
		path := RootPath + dbus.ObjectPath("/"+h.Subtype)
		props := map[string]dbus.Variant{"ConfigDesc": dbus.MakeVariant(h.ConfigDesc)}
		managed[path] = map[string]map[string]dbus.Variant{HandlerInterface: props}
		obj := &handlerObject{subtype: h.Subtype, check: opts.Check, log: opts.Log}
		if err := s.exportAt(path, map[string]any{
			HandlerInterface:    obj,
			propertiesInterface: &properties{iface: HandlerInterface, values: props},
			introspectableIface: introspect.NewIntrospectable(&introspect.Node{Name: string(path), Interfaces: []introspect.Interface{handlerIntrospection}}),
		}); err != nil {
			return err
		}
		root.Children = append(root.Children, introspect.Node{Name: h.Subtype})
	}
	root.Children = append(root.Children, introspect.Node{Name: "HandlerManager1"})
	if err := s.exportAt(ManagerPath, map[string]any{
		ManagerInterface:    &managerObject{log: opts.Log},
		introspectableIface: introspect.NewIntrospectable(&introspect.Node{Name: string(ManagerPath), Interfaces: []introspect.Interface{managerIntrospection}}),
	}); err != nil {
		return err
	}
	return s.exportAt(RootPath, map[string]any{
		objectManagerInterface: objectManager(managed),
		introspectableIface:    introspect.NewIntrospectable(root),
	})
}

func (s *Service) exportAt(path dbus.ObjectPath, ifaces map[string]any) error {
	for iface, v := range ifaces {
		if err := s.conn.Export(v, path, iface); err != nil {
			return fmt.Errorf("D-Bus: exporting %s at %s: %w", iface, path, err)
		}
	}
	s.paths = append(s.paths, path)
	return nil
}

// validSubtypeElement: an object path element is [A-Za-z0-9_]+.
func validSubtypeElement(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// handlerObject is org.kernel.TCMUService1 on one subtype's object.
type handlerObject struct {
	subtype string
	check   func(string) error
	log     *slog.Logger
}

// CheckConfig answers (true, "success") for a usable dev_config, as
// tcmu-runner does, and (false, why) otherwise. targetcli passes the whole
// dev_config, subtype included.
func (h *handlerObject) CheckConfig(config string) (bool, string, *dbus.Error) {
	if !strings.HasPrefix(config, h.subtype+"/") {
		msg := fmt.Sprintf("config %q is not for handler %s: expected %s/<cfgstring>", config, h.subtype, h.subtype)
		h.log.Info("D-Bus CheckConfig refused", "config", config, "reason", msg)
		return false, msg, nil
	}
	if err := h.check(config); err != nil {
		h.log.Info("D-Bus CheckConfig refused", "config", config, "reason", err)
		return false, err.Error(), nil
	}
	h.log.Debug("D-Bus CheckConfig", "config", config)
	return true, "success", nil
}

// managerObject is org.kernel.TCMUService1.HandlerManager1.
type managerObject struct{ log *slog.Logger }

// RegisterHandler refuses: tcmu-runner would forward commands for the new
// subtype to the caller, and tcmsh serves only the subtypes built into it.
func (m *managerObject) RegisterHandler(subtype, desc string) (bool, string, *dbus.Error) {
	m.log.Info("D-Bus RegisterHandler refused", "subtype", subtype)
	return false, fmt.Sprintf("tcmsh serve does not take handlers over D-Bus; subtype %q is not registered (its own subtypes are listed by GetManagedObjects)", subtype), nil
}

// objectManager is org.freedesktop.DBus.ObjectManager at the root.
type objectManager map[dbus.ObjectPath]map[string]map[string]dbus.Variant

// GetManagedObjects lists the handler objects with their properties.
func (m objectManager) GetManagedObjects() (map[dbus.ObjectPath]map[string]map[string]dbus.Variant, *dbus.Error) {
	return m, nil
}

// properties is org.freedesktop.DBus.Properties for one interface whose
// properties are read-only and fixed.
type properties struct {
	iface  string
	values map[string]dbus.Variant
}

func (p *properties) Get(iface, name string) (dbus.Variant, *dbus.Error) {
	if iface != p.iface {
		return dbus.Variant{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownInterface", []any{"no interface " + iface})
	}
	v, ok := p.values[name]
	if !ok {
		return dbus.Variant{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownProperty", []any{"no property " + name + " in " + iface})
	}
	return v, nil
}

func (p *properties) GetAll(iface string) (map[string]dbus.Variant, *dbus.Error) {
	if iface != p.iface && iface != "" {
		return map[string]dbus.Variant{}, nil
	}
	return p.values, nil
}

func (p *properties) Set(iface, name string, _ dbus.Variant) *dbus.Error {
	return dbus.NewError("org.freedesktop.DBus.Error.PropertyReadOnly", []any{"property " + name + " of " + iface + " is read-only"})
}

// describeOwner names the process that owns name: "tcmu-runner (pid 123)".
func describeOwner(conn *dbus.Conn, name string) string {
	var pid uint32
	if err := conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, name).Store(&pid); err != nil {
		return "its owner is unknown"
	}
	comm, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/comm")
	if err != nil {
		return "owned by pid " + strconv.FormatUint(uint64(pid), 10)
	}
	return fmt.Sprintf("owned by %s (pid %d)", strings.TrimSpace(string(comm)), pid)
}

var (
	handlerIntrospection = introspect.Interface{
		Name: HandlerInterface,
		Methods: []introspect.Method{{Name: "CheckConfig", Args: []introspect.Arg{
			{Name: "configstr", Type: "s", Direction: "in"},
			{Name: "is_valid", Type: "b", Direction: "out"},
			{Name: "message", Type: "s", Direction: "out"},
		}}},
		Properties: []introspect.Property{{Name: "ConfigDesc", Type: "s", Access: "read"}},
	}
	managerIntrospection = introspect.Interface{
		Name: ManagerInterface,
		Methods: []introspect.Method{{Name: "RegisterHandler", Args: []introspect.Arg{
			{Name: "subtype", Type: "s", Direction: "in"},
			{Name: "cfgstr_desc", Type: "s", Direction: "in"},
			{Name: "succeeded", Type: "b", Direction: "out"},
			{Name: "message", Type: "s", Direction: "out"},
		}}},
	}
	objectManagerIntrospection = introspect.Interface{
		Name: objectManagerInterface,
		Methods: []introspect.Method{{Name: "GetManagedObjects", Args: []introspect.Arg{
			{Name: "objects", Type: "a{oa{sa{sv}}}", Direction: "out"},
		}}},
	}
)
