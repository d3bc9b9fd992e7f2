package casebook

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// A scanned file's stored bytes are checked against its name whenever
// they are read (ReadAttachment: staff's downloads, the mail's pushes up,
// a correction's files relayed), so that a copy damaged on this node's
// disk (a bad sector, a mistake on the machine) is never served or sent
// as the file. The check hashes the parts as badger hands them over, one
// after the other, without copying them. A read from the start of a file
// checks it whole every time; a read further on is spared the check when
// the same parts (by their badger versions) were found sound within
// scanCheckFor: a download or a push reads a file a part at a time, and
// hashing all of it for each part would cost twenty times the file. A
// part badger cannot read back (its entry in the value log damaged:
// badger logs it and hands over an empty value, no error) or missing
// under a file held whole is damage too, unless the book is being
// replaced meanwhile (Restore: ErrReplacing); parts are read in the
// transaction that finds the file held whole, so a file dropped since
// the read began (the sweep of the files no case names) is missing
// (NOT_FOUND), not damaged (stillHeld). A file found damaged is
// logged at error once (until it is sound again) and counted
// (DamagedAttachments, for the metrics, which checks again a file whose
// parts were written since); a re-send of its bytes mends it
// (claimAttachment).

// ErrAttachmentDamaged is a scanned file whose stored bytes on this node
// do not hash to its name.
var ErrAttachmentDamaged = errors.New("casebook: the stored copy of a scanned file is damaged")

// scanCheckFor is how long a check of a file's stored bytes spares the
// reads further on in the file of checking them again.
const scanCheckFor = time.Minute

// scanChecks are the checks of the stored scans, and the files found
// damaged.
type scanChecks struct {
	mu sync.Mutex
	// last is, by SHA-256, the last check of a file's bytes; damaged
	// the files whose last check found them damaged, with the parts
	// (partsMark) it found so (not forgotten with last: the metric counts
	// them until they are sound again or gone).
	last    map[string]scanCheck
	damaged map[string]uint64
}

// scanCheck is one check of a file's stored bytes: when, of which parts
// (partsMark), and whether they hashed to the file's name.
type scanCheck struct {
	at    time.Time
	parts uint64
	sound bool
}

// maxScanChecks bounds the checks remembered: past it, those older than
// scanCheckFor are forgotten.
const maxScanChecks = 4096

// CheckAttachment checks that the stored bytes of file sha, held whole,
// hash to its name: nil when they do, an error wrapping
// ErrAttachmentDamaged (reason ATTACHMENT_DAMAGED) when they do not. A
// check of the same parts within scanCheckFor stands.
func (b *Book) CheckAttachment(sha string) error {
	held, complete := b.AttachmentHeld(sha)
	if !complete {
		return notHeld(sha)
	}
	return b.checkStored(sha, held.GetSize(), false)
}

// checkStored checks the stored bytes of file sha (size bytes): hashed
// again when force is set, or when the same parts were not checked within
// scanCheckFor.
func (b *Book) checkStored(sha string, size int64, force bool) error {
	var (
		mark   uint64
		last   scanCheck
		cached bool
		sum    string
		n      int64
	)
	generation := b.generation.Load()
	err := b.db.View(func(txn *badger.Txn) error {
		if err := stillHeld(txn, sha, size); err != nil {
			return err
		}
		mark = partsMark(txn, sha)
		if !force {
			if last, cached = b.scans.recent(sha, mark, time.Now()); cached {
				return nil
			}
		}
		var err error
		if sum, n, err = hashStored(txn, sha); err == nil && n < size {
			// Parts missing at the end: as a gap (hashStored).
			err = fmt.Errorf("casebook: file %s has no bytes at %d of its %d: %w", sha, n, size, errPartLost)
		}
		return err
	})
	if errors.Is(err, errPartLost) {
		if b.replacedSince(generation) {
			return fmt.Errorf("%w (%v)", ErrReplacing, err)
		}
		// Not a restore under the read: bytes of the file this node
		// cannot read back. The copy is damaged.
		b.noteCheck(sha, mark, false, n, size)
		return damaged(sha)
	}
	if err != nil {
		return err
	}
	sound := last.sound
	if !cached {
		sound = n == size && sum == sha
		b.noteCheck(sha, mark, sound, n, size)
	}
	if !sound {
		return damaged(sha)
	}
	return nil
}

// stillHeld checks, in the transaction that reads file sha's parts, that
// the book holds the file whole, as size bytes, as it did when the read
// began: a file dropped meanwhile (the sweep of the files no case names,
// a re-upload begun again) is missing for the read (NOT_FOUND), not a
// damaged copy. In the same transaction, parts missing under a file held
// whole are damage.
func stillHeld(txn *badger.Txn, sha string, size int64) error {
	held := &peerv1.PutAttachmentPart{}
	ok, err := getProto(txn, key(pAttachment, sha), held)
	if err != nil {
		return err
	}
	if !ok || held.GetSize() != size || held.GetOffset() != size {
		return notHeld(sha)
	}
	return nil
}

// notHeld is the error of a file this node does not hold whole.
func notHeld(sha string) error { return reason.Errorf(reason.NotFound, nil, "no file %s here", sha) }

// errPartLost is a part of a file held whole that a read of the book did
// not find, or that badger handed over shorter than it is stored: while
// the book is replaced under the read (Restore), a read of part of a
// book; otherwise bytes of the file this node cannot read back, a
// damaged copy.
var errPartLost = errors.New("casebook: a part of the file is missing or cannot be read back")

// replacedSince reports whether the book's keys were being replaced whole
// (Restore) when generation was read, or were since: a read made
// meanwhile may have seen part of a book.
func (b *Book) replacedSince(generation uint64) bool {
	return generation%2 == 1 || b.generation.Load() != generation
}

// valueSizeSlack bounds how much badger's Item.ValueSize, an estimate for
// a value kept in the value log (it takes the entry's header, at most 22
// bytes, for 6), may exceed the value's length. A value handed over
// shorter than ValueSize by more was not read back (badger logs the
// failure and hands over what it has, nothing, without an error).
const valueSizeSlack = 16

// readShort reports whether value v of item is shorter than badger
// stores it: a value badger could not read back.
func readShort(item *badger.Item, v []byte) bool {
	return int64(len(v))+valueSizeSlack < item.ValueSize()
}

// damaged is the error of file sha's damaged copy.
func damaged(sha string) error { return &damagedError{file: sha[:min(len(sha), 12)]} }

// damagedError is a file's damaged copy: ErrAttachmentDamaged, with the
// reason ATTACHMENT_DAMAGED naming the file by its SHA-256's first 12
// characters.
type damagedError struct{ file string }

func (e *damagedError) Error() string {
	return fmt.Sprintf("the copy of scanned file %s stored on this node is damaged (its bytes do not hash to its name): "+
		"it is not served or sent up; staff of the office that uploaded it may upload the same file again to mend it", e.file)
}

func (e *damagedError) Is(target error) bool { return target == ErrAttachmentDamaged }

func (e *damagedError) ErrorReason() (string, reason.Meta) {
	return reason.AttachmentDamaged, reason.Meta{"file": e.file}
}

// recent is the check of file sha's parts (mark) made within scanCheckFor
// of now, if there is one.
func (c *scanChecks) recent(sha string, mark uint64, now time.Time) (scanCheck, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.last[sha]
	if !ok || l.parts != mark || now.Sub(l.at) >= scanCheckFor || now.Before(l.at) {
		return scanCheck{}, false
	}
	return l, true
}

// noteCheck remembers a check of file sha's parts (mark), and logs a file
// found damaged (once, until it is found sound again) or sound again.
// held is the bytes its parts hold, size the file's.
func (b *Book) noteCheck(sha string, mark uint64, sound bool, held, size int64) {
	c := &b.scans
	now := time.Now()
	c.mu.Lock()
	if c.last == nil {
		c.last, c.damaged = map[string]scanCheck{}, map[string]uint64{}
	}
	if len(c.last) >= maxScanChecks {
		for k, l := range c.last {
			if now.Sub(l.at) >= scanCheckFor {
				delete(c.last, k)
			}
		}
	}
	c.last[sha] = scanCheck{at: now, parts: mark, sound: sound}
	_, was := c.damaged[sha]
	if sound {
		delete(c.damaged, sha)
	} else {
		c.damaged[sha] = mark
	}
	c.mu.Unlock()
	switch {
	case !sound && !was:
		b.log().Error("the stored copy of a scanned file is damaged: its bytes do not hash to its name, so it is not served or sent up (docs/OPERATIONS.md, \"A scanned file whose stored copy is damaged\")",
			"file", sha[:min(len(sha), 12)], "sha256", sha, "size", size, "bytes_held", held)
	case sound && was:
		b.log().Info("the stored copy of a scanned file is sound again", "file", sha[:min(len(sha), 12)])
	}
}

// DamagedAttachments is how many scanned files this node holds whole
// whose stored bytes were found damaged at their last check. A file
// whose parts were written since that check (a re-send that replaced
// them, applied here from the office's log; a book restored) is checked
// again first, so that a copy mended is not counted until something
// reads it.
func (b *Book) DamagedAttachments() int {
	c := &b.scans
	c.mu.Lock()
	files := make(map[string]uint64, len(c.damaged))
	for sha, mark := range c.damaged {
		files[sha] = mark
	}
	c.mu.Unlock()
	n := 0
	for sha, mark := range files {
		held, complete := b.AttachmentHeld(sha)
		if !complete {
			// Dropped (no case named it), or the book replaced: nothing
			// left to mend.
			c.mu.Lock()
			delete(c.damaged, sha)
			c.mu.Unlock()
			continue
		}
		var now uint64
		b.view(func(txn *badger.Txn) error {
			now = partsMark(txn, sha)
			return nil
		})
		if now != mark {
			err := b.checkStored(sha, held.GetSize(), true)
			if err == nil {
				continue // mended: found sound again (and logged so)
			}
			if reason.ReasonOf(err) == reason.NotFound {
				c.mu.Lock()
				delete(c.damaged, sha) // dropped meanwhile
				c.mu.Unlock()
				continue
			}
		}
		n++
	}
	return n
}

// partsMark is a fingerprint of the versions of file sha's parts in txn:
// it changes when any part is written again (a re-send that mended the
// file, a restore).
func partsMark(txn *badger.Txn, sha string) uint64 {
	opts := badger.DefaultIteratorOptions
	opts.Prefix, opts.PrefetchValues = key(pAttachmentPart, sha), false
	it := txn.NewIterator(opts)
	defer it.Close()
	mark := uint64(14695981039346656037) // FNV-1a over the versions
	for it.Rewind(); it.Valid(); it.Next() {
		mark = (mark ^ it.Item().Version()) * 1099511628211
	}
	return mark
}

// hashStored hashes the parts of file sha in order, as badger hands
// their values over (no copy), and returns the hash and the bytes hashed.
// A part that does not start where the one before ended, or that badger
// hands over short, fails with errPartLost.
func hashStored(txn *badger.Txn, sha string) (string, int64, error) {
	opts := badger.DefaultIteratorOptions
	opts.Prefix, opts.PrefetchValues = key(pAttachmentPart, sha), false
	it := txn.NewIterator(opts)
	defer it.Close()
	h := sha256.New()
	var next int64
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if start := int64(binary.BigEndian.Uint64(k[len(k)-8:])); start != next {
			return "", next, fmt.Errorf("casebook: file %s has no bytes at %d (its next part starts at %d): %w", sha, next, start, errPartLost)
		}
		item := it.Item()
		if err := item.Value(func(v []byte) error {
			if readShort(item, v) {
				return fmt.Errorf("casebook: file %s: the part at %d reads %d bytes of about %d: %w", sha, next, len(v), item.ValueSize(), errPartLost)
			}
			h.Write(v)
			next += int64(len(v))
			return nil
		}); err != nil {
			return "", next, err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), next, nil
}
