package sim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// The state directory holds three files:
//
//	lock      flock(2)ed: shared to read the state, exclusive to change it
//	snapshot  the whole tree at generation G, written atomically
//	journal   generation G's header, then one record per operation since
//
// Each process keeps the tree in memory and, before every operation,
// compares the journal's inode and size with what it has applied (a stat);
// it reads only new records, so the cost of an operation does not grow
// with the configuration. When the journal passes Options.CompactBytes the
// writer stores a new snapshot (temp file, fsync, rename, fsync of the
// directory) and starts a new journal the same way; a crash between the
// two leaves a journal of an older generation, which is ignored.
//
// A record is: length (u32 LE), CRC-32C of the payload (u32 LE), payload.
// An incomplete or bad record at the very end is a torn write (a process
// died mid-append): it is ignored and cut off by the next writer. A bad
// record followed by more data is corruption, reported with file and
// offset.

const (
	journalMagic  = "TCMSIMJ1"
	snapshotMagic = "TCMSIMS1"
	headerSize    = 16
	recordHeader  = 8
	maxRecord     = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is wrapped by errors about state files that cannot be read.
var ErrCorrupt = errors.New("simulated kernel state is corrupt")

type store struct {
	dir  string
	sync bool

	lockFile *os.File
	journal  *os.File
	ino      uint64
	off      int64 // journal bytes applied
	fileSize int64 // journal size seen at the last catch-up
	gen      uint64
	valid    bool // false: reload snapshot and journal at the next catch-up
	// journalStale: the journal belongs to an older generation than the
	// snapshot (a compaction was interrupted); the next writer replaces it.
	journalStale bool
	// damage describes an incomplete record at the journal's end found by
	// a catch-up (the file was cut, or a process died mid-append), with
	// what was recovered before it; empty when the journal was whole.
	damage string
}

func openStore(dir string, opts Options) (*store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("simulated kernel state directory: %w", err)
	}
	lf, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("simulated kernel state lock: %w", err)
	}
	s := &store{dir: dir, sync: opts.Sync, lockFile: lf}
	if err := s.lock(true); err != nil {
		lf.Close()
		return nil, err
	}
	defer s.unlock()
	if _, err := os.Stat(s.path("journal")); errors.Is(err, os.ErrNotExist) {
		gen := uint64(0)
		if g, _, err := readSnapshot(s.path("snapshot")); err == nil {
			gen = g
		} else if !errors.Is(err, os.ErrNotExist) {
			lf.Close()
			return nil, err
		}
		if err := s.writeFileAtomic("journal", journalHeader(gen)); err != nil {
			lf.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *store) path(name string) string { return filepath.Join(s.dir, name) }

func (s *store) lock(exclusive bool) error {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		err := unix.Flock(int(s.lockFile.Fd()), how)
		if err == nil {
			return nil
		}
		if err != syscall.EINTR {
			return fmt.Errorf("locking %s: %w", s.path("lock"), err)
		}
	}
}

func (s *store) unlock() { _ = unix.Flock(int(s.lockFile.Fd()), unix.LOCK_UN) }

func (s *store) close() error {
	var err error
	if s.journal != nil {
		err = s.journal.Close()
	}
	if e := s.lockFile.Close(); err == nil {
		err = e
	}
	return err
}

func (s *store) invalidate() { s.valid = false }

func (s *store) size() int64 { return s.off }

func journalHeader(gen uint64) []byte {
	b := make([]byte, headerSize)
	copy(b, journalMagic)
	binary.LittleEndian.PutUint64(b[8:], gen)
	return b
}

// encodeRecord frames one operation.
func encodeRecord(o op) []byte {
	p := []byte{o.kind}
	p = binary.AppendVarint(p, o.now)
	p = binary.AppendUvarint(p, uint64(len(o.a)))
	p = append(p, o.a...)
	p = binary.AppendUvarint(p, uint64(len(o.b)))
	p = append(p, o.b...)
	if o.facts != "" {
		p = binary.AppendUvarint(p, uint64(len(o.facts)))
		p = append(p, o.facts...)
	}
	rec := make([]byte, recordHeader, recordHeader+len(p))
	binary.LittleEndian.PutUint32(rec[0:], uint32(len(p)))
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(p, castagnoli))
	return append(rec, p...)
}

func decodePayload(p []byte) (op, error) {
	var o op
	if len(p) < 1 {
		return o, errors.New("empty record")
	}
	o.kind = p[0]
	if o.kind < opMkdir || o.kind > opRestore {
		return o, fmt.Errorf("unknown operation %d", o.kind)
	}
	d := &treeDecoder{b: p, off: 1}
	now, n := binary.Varint(p[1:])
	if n <= 0 {
		return o, errors.New("bad time")
	}
	o.now = now
	d.off += n
	var err error
	if o.a, err = d.str(); err != nil {
		return o, err
	}
	if o.b, err = d.str(); err != nil {
		return o, err
	}
	if d.off < len(p) {
		if o.facts, err = d.str(); err != nil {
			return o, err
		}
	}
	if d.off != len(p) {
		return o, errors.New("trailing bytes")
	}
	return o, nil
}

// scanJournal splits journal bytes (after the header, starting at file
// offset base) into operations. It returns the operations, the bytes they
// span, and an error only for corruption that is not a torn tail.
func scanJournal(b []byte, base int64, name string) ([]op, int, error) {
	var ops []op
	off := 0
	for off < len(b) {
		rest := b[off:]
		torn := func() bool {
			// Only an incomplete or zero-filled tail is a torn write.
			return len(rest) < recordHeader || allZero(rest)
		}
		if len(rest) < recordHeader {
			break
		}
		n := int(binary.LittleEndian.Uint32(rest[0:]))
		sum := binary.LittleEndian.Uint32(rest[4:])
		if n == 0 || n > maxRecord {
			if torn() {
				break
			}
			return ops, off, fmt.Errorf("%w: %s: bad record length %d at offset %d", ErrCorrupt, name, n, base+int64(off))
		}
		if recordHeader+n > len(rest) {
			break // the last record was cut short
		}
		p := rest[recordHeader : recordHeader+n]
		if crc32.Checksum(p, castagnoli) != sum {
			if recordHeader+n == len(rest) {
				break // the last record was not completely written
			}
			return ops, off, fmt.Errorf("%w: %s: checksum mismatch in record at offset %d", ErrCorrupt, name, base+int64(off))
		}
		o, err := decodePayload(p)
		if err != nil {
			return ops, off, fmt.Errorf("%w: %s: record at offset %d: %v", ErrCorrupt, name, base+int64(off), err)
		}
		ops = append(ops, o)
		off += recordHeader + n
	}
	return ops, off, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// readSnapshot reads a snapshot file: its generation and tree encoding.
func readSnapshot(p string) (uint64, []byte, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, nil, err
	}
	return parseSnapshot(b, p)
}

func parseSnapshot(b []byte, name string) (uint64, []byte, error) {
	if len(b) < headerSize+recordHeader || string(b[:8]) != snapshotMagic {
		return 0, nil, fmt.Errorf("%w: %s: not a snapshot (bad header)", ErrCorrupt, name)
	}
	gen := binary.LittleEndian.Uint64(b[8:])
	n := binary.LittleEndian.Uint32(b[16:])
	sum := binary.LittleEndian.Uint32(b[20:])
	p := b[headerSize+recordHeader:]
	if uint64(n) != uint64(len(p)) || crc32.Checksum(p, castagnoli) != sum {
		return 0, nil, fmt.Errorf("%w: %s: checksum or length mismatch", ErrCorrupt, name)
	}
	return gen, p, nil
}

func encodeSnapshot(gen uint64, tree []byte) []byte {
	b := make([]byte, headerSize+recordHeader, headerSize+recordHeader+len(tree))
	copy(b, snapshotMagic)
	binary.LittleEndian.PutUint64(b[8:], gen)
	binary.LittleEndian.PutUint32(b[16:], uint32(len(tree)))
	binary.LittleEndian.PutUint32(b[20:], crc32.Checksum(tree, castagnoli))
	return append(b, tree...)
}

// writeFileAtomic replaces name with data: temp file, fsync, rename, fsync dir.
func (s *store) writeFileAtomic(name string, data []byte) error {
	tmp := s.path(name + ".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, s.path(name)); err != nil {
		return fmt.Errorf("replacing %s: %w", s.path(name), err)
	}
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", s.dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", s.dir, err)
	}
	return nil
}

// openJournal (re)opens the journal file and reads its header.
func (s *store) openJournal() (uint64, error) {
	if s.journal != nil {
		s.journal.Close()
		s.journal = nil
	}
	f, err := os.OpenFile(s.path("journal"), os.O_RDWR, 0)
	if err != nil {
		return 0, fmt.Errorf("opening simulated kernel journal: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return 0, fmt.Errorf("stat %s: %w", s.path("journal"), err)
	}
	hdr := make([]byte, headerSize)
	if _, err := io.ReadFull(f, hdr); err != nil || string(hdr[:8]) != journalMagic {
		f.Close()
		return 0, fmt.Errorf("%w: %s: bad journal header", ErrCorrupt, s.path("journal"))
	}
	s.journal = f
	s.ino = st.Ino
	s.off = headerSize
	s.fileSize = headerSize
	return binary.LittleEndian.Uint64(hdr[8:]), nil
}

// catchUp brings the in-memory tree up to date with the state files. The
// caller holds the process lock and a file lock.
func (k *Kernel) catchUp() error {
	s := k.store
	// With listeners (watch.go), how the enabled user devices change
	// becomes their events: the devices are listed before a change, only
	// when there is one.
	var before map[int]devState
	changing := func() {
		if before == nil && k.listening() {
			before = k.uioState()
		}
	}
	defer func() {
		if before != nil {
			k.queueChanges(before, k.uioState())
		}
	}()
	if !s.valid {
		changing()
		if err := k.reload(); err != nil {
			return err
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(s.path("journal"), &st); err != nil {
		return fmt.Errorf("stat %s: %w", s.path("journal"), err)
	}
	if st.Ino != s.ino || st.Size < s.off {
		// Replaced by a compaction (or cut by a writer): start over.
		changing()
		if err := k.reload(); err != nil {
			return err
		}
		if err := unix.Stat(s.path("journal"), &st); err != nil {
			return fmt.Errorf("stat %s: %w", s.path("journal"), err)
		}
	}
	s.fileSize = st.Size
	if st.Size == s.off || s.journalStale {
		return nil
	}
	changing()
	buf := make([]byte, st.Size-s.off)
	if _, err := s.journal.ReadAt(buf, s.off); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading %s: %w", s.path("journal"), err)
	}
	ops, used, err := scanJournal(buf, s.off, s.path("journal"))
	if err == nil && used < len(buf) && s.damage == "" {
		// Records are appended whole under the exclusive lock, so an
		// incomplete one is damage (a cut file or a process that died
		// mid-write), never a write in progress: say so, with what the
		// state holds up to there.
		s.damage = fmt.Sprintf("%s ends in %d bytes at offset %d that are not a whole record (the file was cut or a write was torn): the state was recovered up to that offset, %s; the rest is lost, and a copy of the journal is kept as %s when the next change cuts it off",
			s.path("journal"), len(buf)-used, s.off+int64(used), recoveredText(ops, s.off == headerSize), s.path("journal.damaged"))
	}
	k.replaying = true
	defer func() { k.replaying = false }()
	for i, o := range ops {
		if _, aerr := k.apply(o); aerr != nil {
			// Every record was an operation that succeeded on this very
			// state: failing now means the state cannot be trusted.
			s.invalidate()
			return fmt.Errorf("%w: %s: replaying record %d (%s %s): %v", ErrCorrupt, s.path("journal"), i, opName(o.kind), opPath(o), aerr)
		}
	}
	s.off += int64(used)
	if err != nil {
		s.invalidate()
		return err
	}
	return nil
}

// reload reads the snapshot and the journal from scratch.
func (k *Kernel) reload() error {
	s := k.store
	root := k.bootTree()
	var gen uint64
	g, tree, err := readSnapshot(s.path("snapshot"))
	switch {
	case err == nil:
		t, derr := decodeTree(tree)
		if derr != nil {
			return fmt.Errorf("%w: %s: %v", ErrCorrupt, s.path("snapshot"), derr)
		}
		root, gen = t, g
	case errors.Is(err, os.ErrNotExist):
	default:
		return err
	}
	jgen, err := s.openJournal()
	if err != nil {
		return err
	}
	switch {
	case jgen == gen:
		s.journalStale = false
	case jgen < gen:
		s.journalStale = true
	default:
		return fmt.Errorf("%w: %s is of generation %d but %s of %d", ErrCorrupt, s.path("journal"), jgen, s.path("snapshot"), gen)
	}
	s.gen = gen
	k.root = root
	k.luGpSeq = 0
	k.recountLinks()
	s.valid = true
	return nil
}

// append records one operation; the caller holds the exclusive lock and
// has caught up.
func (s *store) append(o op) error {
	if s.journalStale {
		if err := s.writeFileAtomic("journal", journalHeader(s.gen)); err != nil {
			return err
		}
		if _, err := s.openJournal(); err != nil {
			return err
		}
		s.journalStale = false
	}
	if s.fileSize > s.off {
		// A torn record from a process that died mid-write, or a cut
		// file: keep the journal as it was before cutting, for whoever
		// investigates the damage reported at load.
		if err := s.keepDamaged(); err != nil {
			return err
		}
		if err := s.journal.Truncate(s.off); err != nil {
			return fmt.Errorf("cutting the torn end of %s: %w", s.path("journal"), err)
		}
	}
	rec := encodeRecord(o)
	if _, err := s.journal.WriteAt(rec, s.off); err != nil {
		return fmt.Errorf("appending to %s: %w", s.path("journal"), err)
	}
	if s.sync {
		if err := s.journal.Sync(); err != nil {
			return fmt.Errorf("syncing %s: %w", s.path("journal"), err)
		}
	}
	s.off += int64(len(rec))
	s.fileSize = s.off
	return nil
}

// keepDamaged copies the journal, damaged end included, to
// journal.damaged.
func (s *store) keepDamaged() error {
	b, err := os.ReadFile(s.path("journal"))
	if err != nil {
		return fmt.Errorf("keeping a copy of the damaged %s: %w", s.path("journal"), err)
	}
	return s.writeFileAtomic("journal.damaged", b)
}

// recoveredText says what a catch-up replayed before damage.
func recoveredText(ops []op, fromStart bool) string {
	what := "operations"
	if !fromStart {
		what = "new operations"
	}
	if len(ops) == 0 {
		return "no " + what + " replayed"
	}
	last := ops[len(ops)-1]
	return fmt.Sprintf("%d %s replayed, the last %s %s", len(ops), what, opName(last.kind), opPath(last))
}

// compact writes the tree as the next generation's snapshot and starts an
// empty journal for it.
func (s *store) compact(tree []byte) error {
	gen := s.gen + 1
	if err := s.writeFileAtomic("snapshot", encodeSnapshot(gen, tree)); err != nil {
		return err
	}
	s.gen = gen
	s.journalStale = true
	if err := s.writeFileAtomic("journal", journalHeader(gen)); err != nil {
		return err
	}
	if _, err := s.openJournal(); err != nil {
		s.invalidate()
		return err
	}
	s.journalStale = false
	return nil
}

// ReadState decodes state files for inspection and fuzzing: it returns
// the number of operations in a journal image, or an error for a corrupt
// one. A torn tail is not an error.
func ReadState(journal []byte) (int, error) {
	registerAll()
	if len(journal) < headerSize || !bytes.Equal(journal[:8], []byte(journalMagic)) {
		return 0, fmt.Errorf("%w: bad journal header", ErrCorrupt)
	}
	ops, _, err := scanJournal(journal[headerSize:], headerSize, "journal")
	return len(ops), err
}
