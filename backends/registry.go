package backends

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Subtype describes one backend subtype for the shell: its name (the part of
// dev_config before the first '/'), a one-line summary, the help text
// (options, defaults, examples) and the option names it accepts.
type Subtype struct {
	Name    string
	Summary string
	Help    string
	Options []string
}

// subtype is a registered backend: its description and how to check and
// open a cfgstring (dev_config without `<subtype>/`).
type subtype struct {
	Subtype
	validate func(cfg string, size int64) error
	open     func(cfg string, size int64, blockSize uint32) (Backend, error)
	// placeholder marks a subtype this build lacks: listed, so that the
	// shell can say how to get it, but every cfgstring fails.
	placeholder bool
}

// registry is filled by init rather than by a composite literal because the
// fault subtype opens other subtypes through it, which Go would otherwise
// report as an initialization cycle.
var registry map[string]*subtype

func init() {
	registry = map[string]*subtype{}
	for _, s := range []*subtype{&fileSubtype, &ramSubtype, &nullSubtype, &faultSubtype, &rbdUnavailable} {
		registry[s.Name] = s
	}
}

// Registration is a subtype that lives outside this package, typically
// behind a build tag (rbd needs cgo and Ceph's libraries): its description
// and how to check and open a cfgstring (dev_config without `<subtype>/`).
// Validate may reach the storage to check it (an RBD image's existence and
// size) but must change nothing.
type Registration struct {
	Subtype
	Validate func(cfg string, size int64) error
	Open     func(cfg string, size int64, blockSize uint32) (Backend, error)
}

// Register adds a subtype from an init function. It replaces a placeholder
// (the rbd subtype of a build without RBD support) and panics when the name
// is taken by a real subtype or the registration is incomplete.
func Register(r Registration) {
	if r.Name == "" || strings.ContainsAny(r.Name, "/:") || r.Validate == nil || r.Open == nil {
		panic(fmt.Sprintf("backends: Register(%q): a subtype needs a name without '/' or ':', Validate and Open", r.Name))
	}
	if old, ok := registry[r.Name]; ok && !old.placeholder {
		panic(fmt.Sprintf("backends: Register(%q): subtype already registered", r.Name))
	}
	r.Options = slices.Clone(r.Options)
	registry[r.Name] = &subtype{Subtype: r.Subtype, validate: r.Validate, open: r.Open}
}

// DefaultBlockSize is used when Open is given a block size of 0 (the TCMU
// default hw_block_size).
const DefaultBlockSize = 512

// MaxBlockSize is the largest logical block size Open accepts.
const MaxBlockSize = 1 << 20

// Subtypes lists the registered subtype names, sorted.
func Subtypes() []string {
	names := make([]string, 0, len(registry))
	for name := range registry {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Lookup returns the description of a subtype.
func Lookup(name string) (Subtype, bool) {
	s, ok := registry[name]
	if !ok {
		return Subtype{}, false
	}
	d := s.Subtype
	d.Options = slices.Clone(s.Options)
	return d, true
}

// Help returns a subtype's help text: its options, their defaults and
// examples.
func Help(name string) (string, error) {
	s, err := lookupSubtype(name)
	if err != nil {
		return "", err
	}
	return s.Help, nil
}

// Open parses a `user:<subtype>` backstore's dev_config, `<subtype>/<cfgstring>`,
// and opens the backend it names with the given capacity in bytes and logical
// block size (0: DefaultBlockSize).
func Open(devConfig string, size int64, blockSize uint32) (Backend, error) {
	if blockSize == 0 {
		blockSize = DefaultBlockSize
	}
	if err := checkGeometry(size, blockSize); err != nil {
		return nil, err
	}
	return openConfig(devConfig, size, blockSize)
}

// Validate checks a dev_config for a backstore of size bytes without opening
// anything: the shell calls it before creating the backstore. It looks at the
// file system (for file) but changes nothing.
func Validate(devConfig string, size int64) error {
	if err := checkGeometry(size, DefaultBlockSize); err != nil {
		return err
	}
	return validateConfig(devConfig, size)
}

// CheckConfig checks a dev_config before the device exists and its size is
// known: tcmu-runner's CheckConfig, which targetcli-fb asks over D-Bus
// before it creates a user backstore. What depends on the size (an existing
// file's length, an RBD image's size) is checked when the device is opened.
func CheckConfig(devConfig string) error {
	return validateConfig(devConfig, 0)
}

func openConfig(devConfig string, size int64, blockSize uint32) (Backend, error) {
	s, cfg, err := splitDevConfig(devConfig)
	if err != nil {
		return nil, err
	}
	b, err := s.open(cfg, size, blockSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	return b, nil
}

func validateConfig(devConfig string, size int64) error {
	s, cfg, err := splitDevConfig(devConfig)
	if err != nil {
		return err
	}
	if err := s.validate(cfg, size); err != nil {
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	return nil
}

func checkGeometry(size int64, blockSize uint32) error {
	if size <= 0 {
		return fmt.Errorf("size %d: a backstore needs a size of at least one block", size)
	}
	if blockSize < DefaultBlockSize || blockSize > MaxBlockSize || blockSize&(blockSize-1) != 0 {
		return fmt.Errorf("block size %d: expected a power of two from %d to %d", blockSize, DefaultBlockSize, MaxBlockSize)
	}
	return nil
}

// splitDevConfig separates `<subtype>/<cfgstring>`. A dev_config that is a
// bare subtype name (`null`) is taken as having an empty cfgstring.
func splitDevConfig(devConfig string) (*subtype, string, error) {
	name, cfg, _ := strings.Cut(devConfig, "/")
	if name == "" {
		return nil, "", fmt.Errorf("dev_config %q: expected <subtype>/<cfgstring>, e.g. file//var/lib/tcmsh/disk.img (subtypes: %s)",
			devConfig, strings.Join(Subtypes(), ", "))
	}
	s, err := lookupSubtype(name)
	if err != nil {
		return nil, "", fmt.Errorf("dev_config %q: %w", devConfig, err)
	}
	return s, cfg, nil
}

func lookupSubtype(name string) (*subtype, error) {
	s, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown subtype %q (valid: %s)", name, strings.Join(Subtypes(), ", "))
	}
	return s, nil
}

// ErrOutOfRange is wrapped by I/O errors for a range that does not fit in
// the device; the SCSI layer never sends one, so seeing it means a bug.
var ErrOutOfRange = errors.New("range beyond the end of the device")

// checkRange reports whether [off, off+length) lies within size.
func checkRange(off, length, size int64) error {
	if off < 0 || length < 0 || off > size || length > size-off {
		return fmt.Errorf("%w: offset %d length %d, device size %d", ErrOutOfRange, off, length, size)
	}
	return nil
}
