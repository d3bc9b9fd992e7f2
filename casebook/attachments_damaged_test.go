package casebook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/dgraph-io/badger/v4"
	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/reason"
)

// corruptOnDisk changes one byte of the first copy of needle in the files
// of dir (badger's value log holds a scan's parts), as a bad sector
// would, and fails the test if there is none.
func corruptOnDisk(t *testing.T, dir string, needle []byte) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(data, needle)
		if i < 0 {
			continue
		}
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt([]byte{needle[0] ^ 0xff}, int64(i)); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no copy of the bytes in %s's value log", dir)
}

// errorCount counts the records logged at error.
type errorCount struct{ n atomic.Int64 }

func (c *errorCount) Enabled(context.Context, slog.Level) bool { return true }
func (c *errorCount) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		c.n.Add(1)
	}
	return nil
}
func (c *errorCount) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *errorCount) WithGroup(string) slog.Handler      { return c }

// A scan whose bytes went bad on the disk is not read as the file: every
// read fails naming the file and the damage (ATTACHMENT_DAMAGED), once in
// the log, and it counts as damaged. Sent again by the office that
// uploaded it, other bytes change nothing; the right ones take the place
// of the damaged copy, which reads back whole.
func TestADamagedScanIsNotReadAndIsMendedBySendingItAgain(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	logged := &errorCount{}
	o.book.SetLogger(slog.New(logged))
	part := casework.AttachmentPartBytes
	data := make([]byte, 2*part+1000)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	copy(data, "%PDF-1.7\n")
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	send := func(office string, b []byte, offset int) *peerv1.AttachmentProgress {
		t.Helper()
		got, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(b)), ContentType: casework.TypePDF,
			Offset: int64(offset), Data: b[offset:min(offset+part, len(b))], UploaderOffice: office})
		if err != nil {
			t.Fatalf("%s's part at %d: %v", office, offset, err)
		}
		return got
	}
	sendAll := func(office string, b []byte) *peerv1.AttachmentProgress {
		t.Helper()
		var got *peerv1.AttachmentProgress
		for off := 0; off < len(b); off += part {
			got = send(office, b, off)
		}
		return got
	}
	if got := sendAll(village, data); !got.GetComplete() {
		t.Fatalf("the upload: %v", got)
	}
	if got, err := o.book.ReadAttachment(sha, 0, len(data)); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the scan as uploaded: %d bytes, %v", len(got), err)
	}
	if err := o.book.Sync(); err != nil {
		t.Fatal(err)
	}
	corruptOnDisk(t, o.book.db.Opts().Dir, data[part+100:part+164])

	for _, from := range []int64{0, int64(part) + 5, 0} {
		got, err := o.book.ReadAttachment(sha, from, part)
		if !errors.Is(err, ErrAttachmentDamaged) || len(got) != 0 {
			t.Fatalf("the damaged scan read from %d: %d bytes, %v", from, len(got), err)
		}
		if e := reason.Of(err); e == nil || e.Reason != reason.AttachmentDamaged || e.Meta["file"] != sha[:12] {
			t.Errorf("the damaged scan's error names %v, want %s and file %s", e, reason.AttachmentDamaged, sha[:12])
		}
	}
	if err := o.book.CheckAttachment(sha); !errors.Is(err, ErrAttachmentDamaged) {
		t.Errorf("the damaged scan checked: %v", err)
	}
	if n := o.book.DamagedAttachments(); n != 1 {
		t.Errorf("%d scans counted damaged, want 1", n)
	}
	if n := logged.n.Load(); n != 1 {
		t.Errorf("%d lines at error for the damaged scan read three times, want 1", n)
	}

	// A part of it sent again, as an upload sent twice, is answered that
	// the file is held whole, and begins nothing.
	if got := send(village, data, part); !got.GetComplete() || o.book.AttachmentClaim(sha, village) != 0 {
		t.Errorf("a part sent again: %v, %d bytes of a re-send", got, o.book.AttachmentClaim(sha, village))
	}
	// Other bytes under its name change nothing and leave nothing aside.
	other := bytes.Clone(data)
	other[len(other)-1] ^= 1
	if got := sendAll(village, other); got.GetComplete() || got.GetReceived() != 0 {
		t.Errorf("other bytes sent again: %v", got)
	}
	if err := o.book.CheckAttachment(sha); !errors.Is(err, ErrAttachmentDamaged) {
		t.Errorf("after other bytes were sent again, the scan checks %v", err)
	}
	aside := func() int {
		n := 0
		o.book.view(func(txn *badger.Txn) error {
			return eachKey(txn, []byte(pAttachmentStaged), func(_, _ []byte) error { n++; return nil })
		})
		return n
	}
	if n := aside(); n != 0 {
		t.Errorf("%d parts of a failed re-send left aside", n)
	}

	// The file itself, sent again, mends the copy.
	if got := sendAll(village, data); !got.GetComplete() || got.GetReceived() != int64(len(data)) {
		t.Fatalf("the scan sent again: %v", got)
	}
	if got, err := o.book.ReadAttachment(sha, 0, len(data)); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the mended scan: %d bytes, %v", len(got), err)
	}
	if n := o.book.DamagedAttachments(); n != 0 {
		t.Errorf("%d scans counted damaged after the mending", n)
	}
	if n := aside(); n != 0 || o.book.AttachmentClaim(sha, village) != 0 {
		t.Errorf("after the mending, %d parts left aside, a re-send of %d bytes", n, o.book.AttachmentClaim(sha, village))
	}
	if !o.book.AttachmentUploadedBy(sha, village) {
		t.Error("the village is no longer the scan's uploader")
	}
	// A follower restored from the book holds the mended copy.
	if got, err := o.restoredCopy().book.ReadAttachment(sha, 0, len(data)); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the mended scan on a follower restored from the book: %d bytes, %v", len(got), err)
	}
}

// scanOf is a PDF's bytes, n of them, that differ with seed, and their
// SHA-256.
func scanOf(n int, seed byte) (string, []byte) {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7/3) ^ seed
	}
	copy(b, "%PDF-1.7\n")
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), b
}

// sendScan sends data under sha for office in parts of partBytes, as
// raft entries, and answers the last part's progress.
func (o *office) sendScan(sha string, data []byte, partBytes int, office string) *peerv1.AttachmentProgress {
	o.t.Helper()
	var got *peerv1.AttachmentProgress
	for off := 0; off < len(data); off += partBytes {
		var err error
		got, err = o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF,
			Offset: int64(off), Data: data[off:min(off+partBytes, len(data))], UploaderOffice: office})
		if err != nil {
			o.t.Fatalf("%s's part at %d: %v", office, off, err)
		}
	}
	return got
}

// A copy mended by a re-send applied from the office's log is no longer
// counted damaged (yizhan_casebook_scans_damaged, which the operator's
// alert reads), though nothing on this node reads the file again: a
// follower, or a leader whose case does not wait to go up.
func TestAScanMendedIsNotCountedDamagedWithoutARead(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	part := casework.AttachmentPartBytes
	sha, data := scanOf(2*part+1000, 5)
	if got := o.sendScan(sha, data, part, village); !got.GetComplete() {
		t.Fatalf("the upload: %v", got)
	}
	if err := o.book.Sync(); err != nil {
		t.Fatal(err)
	}
	corruptOnDisk(t, o.book.db.Opts().Dir, data[part+100:part+164])
	if _, err := o.book.ReadAttachment(sha, 0, part); !errors.Is(err, ErrAttachmentDamaged) {
		t.Fatalf("the damaged copy read: %v", err)
	}
	if n := o.book.DamagedAttachments(); n != 1 {
		t.Fatalf("%d scans counted damaged, want 1", n)
	}
	if got := o.sendScan(sha, data, part, village); !got.GetComplete() {
		t.Fatalf("the re-send: %v", got)
	}
	if n := o.book.DamagedAttachments(); n != 0 {
		t.Errorf("%d scans counted damaged after a re-send replaced the copy, nothing read since; want 0", n)
	}
}

// A part badger cannot read back (its entry in the value log damaged on
// the disk; a bad sector read with an I/O error goes the same way: badger
// hands over nothing, without an error) is a damaged copy: every read
// and check fails ATTACHMENT_DAMAGED, not BOOK_RESTORING, which staff
// would retry for ever; it is counted, and the file sent again by its
// uploader mends it. The database closes afterwards (badger lets go of
// the value log's read lock: third_party/badger/PATCHES.md).
func TestAScanPartThatCannotBeReadBackIsADamagedCopy(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	part := casework.AttachmentPartBytes
	sha, data := scanOf(2*part+1000, 11)
	if got := o.sendScan(sha, data, part, village); !got.GetComplete() {
		t.Fatalf("the upload: %v", got)
	}
	if err := o.book.Sync(); err != nil {
		t.Fatal(err)
	}
	// The value-log entry of the second part: header (meta, user meta,
	// uvarint key length, uvarint value length, uvarint expiry) | key
	// (with badger's 8-byte version) | value | crc. Its value length made
	// larger than the entry: badger answers "Invalid read".
	k := key(pAttachmentPart, sha, be64(uint64(part)))
	files, _ := filepath.Glob(filepath.Join(o.book.db.Opts().Dir, "*.vlog"))
	damagedOnDisk := false
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(b, k)
		if i < 0 {
			continue
		}
		var vlen [binary.MaxVarintLen64]byte
		n := binary.PutUvarint(vlen[:], uint64(part))
		at := i - 1 - n // the expiry (one byte, 0) is right before the key
		if !bytes.Equal(b[at:at+n], vlen[:n]) {
			t.Fatalf("no value length %x before the key in %s: %x", vlen[:n], name, b[at-4:i])
		}
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteAt([]byte{b[at+n-1] + 1}, int64(at+n-1))
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		damagedOnDisk = true
		break
	}
	if !damagedOnDisk {
		t.Fatal("the part's entry is not in the value log")
	}

	for _, from := range []int64{0, int64(part) + 5} {
		_, err := o.book.ReadAttachment(sha, from, part)
		if e := reason.Of(err); !errors.Is(err, ErrAttachmentDamaged) || e == nil || e.Reason != reason.AttachmentDamaged {
			t.Errorf("the scan read from %d: %v; want %s", from, err, reason.AttachmentDamaged)
		}
	}
	if err := o.book.CheckAttachment(sha); !errors.Is(err, ErrAttachmentDamaged) {
		t.Errorf("the scan checked (as the office does before taking a mending, the mail before a push): %v", err)
	}
	if n := o.book.DamagedAttachments(); n != 1 {
		t.Errorf("%d scans counted damaged, want 1", n)
	}

	if got := o.sendScan(sha, data, part, village); !got.GetComplete() {
		t.Fatalf("the scan sent again: %v", got)
	}
	if got, err := o.book.ReadAttachment(sha, 0, len(data)); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the mended scan: %d bytes, %v", len(got), err)
	}
	if n := o.book.DamagedAttachments(); n != 0 {
		t.Errorf("%d scans counted damaged after the mending", n)
	}
}
