package backends

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestValidateMessages runs every option of every subtype, good and bad,
// through Validate and checks the exact message. DIR stands for a fresh
// directory holding "small.img" (4096 bytes) and "dir/".
func TestValidateMessages(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "small.img"), make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	const size = 1 << 20
	tests := []struct {
		config string
		size   int64
		want   string // "" means valid
	}{
		// registry
		{"", size, `dev_config "": expected <subtype>/<cfgstring>, e.g. file//var/lib/tcmsh/disk.img (subtypes: fault, file, null, ram, rbd)`},
		{"/x", size, `dev_config "/x": expected <subtype>/<cfgstring>, e.g. file//var/lib/tcmsh/disk.img (subtypes: fault, file, null, ram, rbd)`},
		{"rbd/pool/img", size, "rbd: " + ErrRBDNotBuilt.Error()},
		{"fault/rbd/pool/img", size, "fault: rbd: " + ErrRBDNotBuilt.Error()},
		{"iscsi/x", size, `dev_config "iscsi/x": unknown subtype "iscsi" (valid: fault, file, null, ram, rbd)`},
		{"null/", 0, `size 0: a backstore needs a size of at least one block`},
		{"null/", -5, `size -5: a backstore needs a size of at least one block`},

		// null
		{"null/", size, ""},
		{"null", size, ""},
		{"null/;", size, ""},
		{"null/x=1", size, `null: unknown option "x" (this subtype takes no options)`},

		// ram
		{"ram/", size, ""},
		{"ram", size, ""},
		{"ram/chunk=64k", size, ""},
		{"ram/chunk=4KiB", size, ""},
		{"ram/chunk=64M", size, ""},
		{"ram/chunk=65536", size, ""},
		{"ram/ chunk = 1MiB ;", size, ""},
		{"ram/chunk=3k", size, `ram: option "chunk": "3k" is not a power of two from 4KiB to 64MiB (e.g. 64k)`},
		{"ram/chunk=2k", size, `ram: option "chunk": "2k" is not a power of two from 4KiB to 64MiB (e.g. 64k)`},
		{"ram/chunk=128M", size, `ram: option "chunk": "128M" is not a power of two from 4KiB to 64MiB (e.g. 64k)`},
		{"ram/chunk=big", size, `ram: option "chunk": "big" is not a power of two from 4KiB to 64MiB (e.g. 64k)`},
		{"ram/chunk=-4k", size, `ram: option "chunk": "-4k" is not a power of two from 4KiB to 64MiB (e.g. 64k)`},
		{"ram/chunk", size, `ram: option "chunk" needs a value (e.g. chunk=64k)`},
		{"ram/chunk=", size, `ram: option "chunk" needs a value (e.g. chunk=64k)`},
		{"ram/chunk=64k;chunk=1M", size, `ram: option "chunk" given twice`},
		{"ram/size=1G", size, `ram: unknown option "size" (valid: chunk)`},
		{"ram/=1", size, `ram: option "=1": empty name before '='`},
		{"ram/chunk=4k", 1 << 43, `ram: size 8796093022208 is more than a ram backstore with chunk=4 KiB can address (4 TiB); use a larger chunk`},
		{"ram/", 1 << 50, ""},

		// file
		{"file/DIR/new.img", size, ""},
		{"file/DIR/small.img", 4096, ""},
		{"file/DIR/small.img;grow=true", size, ""},
		{"file/DIR/small.img;grow", size, ""},
		{"file/DIR/small.img;grow=yes;direct=on", size, ""},
		{"file/DIR/small.img;readonly=true", 4096, ""},
		{"file/DIR/small.img;readonly", 4096, ""},
		{"file/DIR/small.img;direct=1;readonly=0", 4096, ""},
		{"file/", size, `file: missing path: give the image's absolute path, e.g. /var/lib/tcmsh/disk.img (dev_config file//var/lib/tcmsh/disk.img)`},
		{"file", size, `file: missing path: give the image's absolute path, e.g. /var/lib/tcmsh/disk.img (dev_config file//var/lib/tcmsh/disk.img)`},
		{"file/;grow=true", size, `file: missing path: give the image's absolute path, e.g. /var/lib/tcmsh/disk.img (dev_config file//var/lib/tcmsh/disk.img)`},
		{"file/disk.img", size, `file: path "disk.img" is not absolute: give the image's absolute path, e.g. /var/lib/tcmsh/disk.img (dev_config file//var/lib/tcmsh/disk.img)`},
		{"file/file//var/lib/x.img", size, `file: path "file//var/lib/x.img" starts with "file/" a second time: a create command's cfgstring is the path alone (/var/lib/x.img), dev_config is "file/" and the path (file//var/lib/x.img)`},
		{"file//a\x00b", size, `file: path "/a\x00b" contains a NUL byte`},
		{"file/DIR/nodir/x.img", size, `file: directory "DIR/nodir" does not exist; create it first (tcmsh creates the image file, not its directories)`},
		{"file/DIR/small.img/x.img", size, `file: "DIR/small.img" is not a directory`},
		{"file/DIR/dir", size, `file: "DIR/dir" is not a regular file (mode d---------)`},
		{"file/DIR/small.img", size, `file: "DIR/small.img" is 4096 bytes but the backstore size is 1048576; add grow=true to extend the file`},
		{"file/DIR/small.img;grow=true", 512, `file: "DIR/small.img" is 4096 bytes, larger than the backstore size 512; a file is never shrunk: give the backstore size 4096 or use another file`},
		{"file/DIR/missing.img;readonly", size, `file: "DIR/missing.img" does not exist, and readonly=true does not create it`},
		{"file/DIR/small.img;grow;readonly", size, `file: options grow and readonly exclude each other: a read-only file cannot be extended`},
		{"file/DIR/small.img;grow=maybe", size, `file: option "grow": "maybe" is not a boolean (true or false)`},
		{"file/DIR/small.img;direct=2", size, `file: option "direct": "2" is not a boolean (true or false)`},
		{"file/DIR/small.img;readonly=x", size, `file: option "readonly": "x" is not a boolean (true or false)`},
		{"file/DIR/small.img;sync=true", size, `file: unknown option "sync" (valid: direct, grow, readonly)`},
		{"file/DIR/a;b.img", size, `file: unknown option "b.img" (valid: direct, grow, readonly); a path containing ';' is not supported`},

		// fault
		{"fault/ram/", size, ""},
		{"fault/ram", size, ""},
		{"fault/null/;delay=2ms;jitter=1ms;error_rate=0.5;fail_after=10;sense=hardware;ops=read;seed=-3;readonly", size, ""},
		{"fault/ram/chunk=64k;delay=0", size, ""},
		{"fault/ram/;chunk=64k;delay=1us", size, ""},
		{"fault/file/DIR/small.img;error_rate=0.01;sense=medium;grow=true", size, ""},
		{"fault/null/;sense=3/11/0", size, ""},
		{"fault/null/;sense=0x0B/0x47/0x03", size, ""},
		{"fault/null/;sense=NOT_READY", size, ""},
		{"fault/null/;sense=write_protect;ops=WRITE", size, ""},
		{"fault/null/;sense=aborted;ops=all", size, ""},
		{"fault/null/;error_rate=1;error_rate=0", size, `fault: option "error_rate" given twice`},
		{"fault/", size, `fault: missing inner backend: expected fault/<subtype>/<cfgstring>[;options], e.g. fault/ram/;delay=2ms`},
		{"fault", size, `fault: missing inner backend: expected fault/<subtype>/<cfgstring>[;options], e.g. fault/ram/;delay=2ms`},
		{"fault/fault/ram/", size, `fault: fault cannot wrap fault: give all the options to one`},
		{"fault/disk/", size, `fault: inner backend: unknown subtype "disk" (valid: fault, file, null, ram, rbd)`},
		{"fault/ram/;delay=2x", size, `fault: option "delay": "2x" is not a duration (e.g. 2ms)`},
		{"fault/ram/;delay=2", size, `fault: option "delay": "2" is not a duration (e.g. 2ms)`},
		{"fault/ram/;delay=-1ms", size, `fault: option "delay": "-1ms" is negative; a duration must be 0 or more`},
		{"fault/ram/;delay", size, `fault: option "delay" needs a value (e.g. delay=2ms)`},
		{"fault/ram/;jitter=soon", size, `fault: option "jitter": "soon" is not a duration (e.g. 2ms)`},
		{"fault/ram/;delay=2562047h;jitter=2562047h", size, `fault: options delay and jitter: 2562047h0m0s + 2562047h0m0s overflows`},
		{"fault/ram/;error_rate=1.5", size, `fault: option "error_rate": "1.5" is not a probability between 0 and 1 (e.g. 0.01)`},
		{"fault/ram/;error_rate=-0.1", size, `fault: option "error_rate": "-0.1" is not a probability between 0 and 1 (e.g. 0.01)`},
		{"fault/ram/;error_rate=NaN", size, `fault: option "error_rate": "NaN" is not a probability between 0 and 1 (e.g. 0.01)`},
		{"fault/ram/;error_rate=1%", size, `fault: option "error_rate": "1%" is not a probability between 0 and 1 (e.g. 0.01)`},
		{"fault/ram/;error_rate", size, `fault: option "error_rate" needs a value (e.g. error_rate=0.01)`},
		{"fault/ram/;fail_after=-1", size, `fault: option "fail_after": "-1" is not a whole number of operations (e.g. 1000)`},
		{"fault/ram/;fail_after=1e3", size, `fault: option "fail_after": "1e3" is not a whole number of operations (e.g. 1000)`},
		{"fault/ram/;fail_after", size, `fault: option "fail_after" needs a value (e.g. fail_after=1000)`},
		{"fault/ram/;sense=bad", size, `fault: option "sense": "bad" is not a sense name (medium, hardware, not_ready, write_protect, aborted) or KEY/ASC/ASCQ in hex (e.g. 3/11/0)`},
		{"fault/ram/;sense=3/11", size, `fault: option "sense": "3/11" is not a sense name (medium, hardware, not_ready, write_protect, aborted) or KEY/ASC/ASCQ in hex (e.g. 3/11/0)`},
		{"fault/ram/;sense=3/111/0", size, `fault: option "sense": "3/111/0" is not a sense name (medium, hardware, not_ready, write_protect, aborted) or KEY/ASC/ASCQ in hex (e.g. 3/11/0)`},
		{"fault/ram/;sense=3//0", size, `fault: option "sense": "3//0" is not a sense name (medium, hardware, not_ready, write_protect, aborted) or KEY/ASC/ASCQ in hex (e.g. 3/11/0)`},
		{"fault/ram/;sense=10/0/0", size, `fault: option "sense": sense key 0x10 is out of range (0 to f)`},
		{"fault/ram/;sense=0/0/0", size, `fault: option "sense": sense key 0 is NO SENSE, which is not an error`},
		{"fault/ram/;sense", size, `fault: option "sense" needs a value (e.g. sense=medium)`},
		{"fault/ram/;ops=both", size, `fault: option "ops": "both" is not one of all, read, write`},
		{"fault/ram/;ops", size, `fault: option "ops" needs a value (e.g. ops=all)`},
		{"fault/ram/;seed=x", size, `fault: option "seed": "x" is not an integer (e.g. 42)`},
		{"fault/ram/;seed", size, `fault: option "seed" needs a value (e.g. seed=42)`},
		{"fault/ram/;readonly=perhaps", size, `fault: option "readonly": "perhaps" is not a boolean (true or false)`},
		{"fault/ram/;speed=1", size, `fault: unknown option "speed" (valid: chunk, delay, error_rate, fail_after, jitter, ops, readonly, seed, sense) (the inner ram backend's options included)`},
		{"fault/null/;grow=true", size, `fault: unknown option "grow" (valid: delay, error_rate, fail_after, jitter, ops, readonly, seed, sense) (the inner null backend's options included)`},
		{"fault/ram/;chunk=5k", size, `fault: ram: option "chunk": "5k" is not a power of two from 4KiB to 64MiB (e.g. 64k)`},
		{"fault/file/DIR/small.img;readonly", 4096, ""},
		{"fault/file/DIR/new.img;readonly", 4096, `fault: file: "DIR/new.img" does not exist, and readonly=true does not create it`},
		{"fault/file/DIR/small.img;readonly;grow", size, `fault: file: options grow and readonly exclude each other: a read-only file cannot be extended`},
		{"fault/file/DIR/small.img", size, `fault: file: "DIR/small.img" is 4096 bytes but the backstore size is 1048576; add grow=true to extend the file`},
		{"fault/file/relative", size, `fault: file: path "relative" is not absolute: give the image's absolute path, e.g. /var/lib/tcmsh/disk.img (dev_config file//var/lib/tcmsh/disk.img)`},
	}
	for _, tt := range tests {
		config := strings.ReplaceAll(tt.config, "DIR", dir)
		want := strings.ReplaceAll(tt.want, "DIR", dir)
		t.Run(tt.config, func(t *testing.T) {
			err := Validate(config, tt.size)
			switch {
			case want == "" && err != nil:
				t.Fatalf("Validate(%q) = %v, want valid", config, err)
			case want != "" && err == nil:
				t.Fatalf("Validate(%q) = nil, want %q", config, want)
			case want != "" && err.Error() != want:
				t.Fatalf("Validate(%q)\n got %q\nwant %q", config, err, want)
			}
		})
	}
}

// TestValidateChangesNothing: validating a file config must not create it.
func TestValidateChangesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.img")
	if err := Validate("file/"+path, 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("Validate created %s (stat: %v)", path, err)
	}
}

func TestParseFaultValues(t *testing.T) {
	c, err := parseFaultConfig("file//x.img;direct;delay=2ms;jitter=500us;error_rate=0.25;fail_after=7;sense=1/2/3;ops=write;seed=-9;readonly;grow=false")
	if err != nil {
		t.Fatal(err)
	}
	want := faultConfig{
		inner: "file//x.img;direct;readonly;grow=false", delay: 2 * time.Millisecond, jitter: 500 * time.Microsecond,
		errorRate: 0.25, failAfter: 7, hasFail: true,
		sense: sameSense(SenseError{Key: 1, ASC: 2, ASCQ: 3}), ops: faultWrites, seed: -9, hasSeed: true, readonly: true,
	}
	if c != want {
		t.Fatalf("parseFaultConfig:\n got %+v\nwant %+v", c, want)
	}
	c, err = parseFaultConfig("ram/;readonly")
	if err != nil {
		t.Fatal(err)
	}
	if c.inner != "ram/" || !c.readonly {
		t.Fatalf("readonly over ram: %+v", c)
	}
	c, err = parseFaultConfig("ram/")
	if err != nil {
		t.Fatal(err)
	}
	if c.sense != namedSenses[0].choice || c.ops != faultAll || c.hasFail || c.hasSeed || c.readonly || c.delay != 0 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestParseSenseNames(t *testing.T) {
	tests := []struct {
		value       string
		read, write SenseError
	}{
		{"medium", SenseError{Key: 3, ASC: 0x11}, SenseError{Key: 3, ASC: 0x0c}},
		{"hardware", SenseError{Key: 4, ASC: 0x44}, SenseError{Key: 4, ASC: 0x44}},
		{"not_ready", SenseError{Key: 2, ASC: 0x04}, SenseError{Key: 2, ASC: 0x04}},
		{"write_protect", SenseError{Key: 7, ASC: 0x27}, SenseError{Key: 7, ASC: 0x27}},
		{"aborted", SenseError{Key: 0xb, ASC: 0x08}, SenseError{Key: 0xb, ASC: 0x08}},
		{"5/24/0", SenseError{Key: 5, ASC: 0x24}, SenseError{Key: 5, ASC: 0x24}},
		{"0xf/0xff/0x1", SenseError{Key: 0xf, ASC: 0xff, ASCQ: 1}, SenseError{Key: 0xf, ASC: 0xff, ASCQ: 1}},
	}
	for _, tt := range tests {
		got, err := option{key: "sense", value: tt.value}.parseSense()
		if err != nil {
			t.Fatalf("%s: %v", tt.value, err)
		}
		if got.read != tt.read || got.write != tt.write {
			t.Errorf("%s: got %+v, want read %+v write %+v", tt.value, got, tt.read, tt.write)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"4096", 4096, true}, {"4k", 4096, true}, {"4K", 4096, true}, {"4KiB", 4096, true},
		{"1m", 1 << 20, true}, {"1MiB", 1 << 20, true}, {"2G", 2 << 30, true}, {"1gib", 1 << 30, true},
		{"", 0, false}, {"k", 0, false}, {"1.5M", 0, false}, {"-1", 0, false}, {"1T", 0, false},
		{"9223372036854775807k", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseByteSize(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRegistry(t *testing.T) {
	if got := strings.Join(Subtypes(), ","); got != "fault,file,null,ram,rbd" {
		t.Fatalf("Subtypes() = %s", got)
	}
	for _, name := range Subtypes() {
		s, ok := Lookup(name)
		if !ok || s.Name != name || s.Summary == "" {
			t.Fatalf("Lookup(%q) = %+v, %v", name, s, ok)
		}
		help, err := Help(name)
		if err != nil || !strings.HasPrefix(help, name+"/") || !strings.Contains(help, "Example") {
			t.Fatalf("Help(%q) = %q, %v", name, help, err)
		}
		// Every option is documented in the help text.
		for _, opt := range s.Options {
			if !strings.Contains(help, "  "+opt) {
				t.Errorf("help of %s does not document option %q", name, opt)
			}
		}
		// Every example in the help is valid (file examples name
		// directories that may not exist here, so only parse those).
		_, examples, _ := strings.Cut(help, "Example")
		for line := range strings.Lines(examples) {
			ex := strings.TrimSpace(line)
			if !strings.HasPrefix(ex, name+"/") {
				continue
			}
			var err error
			switch {
			case name == "rbd":
				// Parsed by package backends/rbd's tests; here the
				// placeholder refuses every cfgstring.
				continue
			case strings.HasPrefix(ex, "file/"):
				_, err = parseFileConfig(strings.TrimPrefix(ex, "file/"))
			case strings.HasPrefix(ex, "fault/file/"):
				_, err = parseFaultConfig(strings.TrimPrefix(ex, "fault/"))
			default:
				err = Validate(ex, 1<<30)
			}
			if err != nil {
				t.Errorf("help example %q of %s: %v", ex, name, err)
			}
		}
	}
	if _, err := Help("iscsi"); err == nil || err.Error() != `unknown subtype "iscsi" (valid: fault, file, null, ram, rbd)` {
		t.Fatalf("Help(iscsi) = %v", err)
	}
	if _, ok := Lookup("iscsi"); ok {
		t.Fatal("Lookup(iscsi) found something")
	}
}

func TestOpenGeometry(t *testing.T) {
	for _, bs := range []uint32{1, 511, 513, 3000, 2 << 20} {
		if _, err := Open("null/", 1<<20, bs); err == nil || !strings.Contains(err.Error(), "expected a power of two from 512 to 1048576") {
			t.Errorf("block size %d: %v", bs, err)
		}
	}
	b, err := Open("null/", 1<<20, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Size() != 1<<20 {
		t.Fatalf("size %d", b.Size())
	}
}
