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
// file found damaged is logged at error once (until it is sound again)
// and counted (DamagedAttachments, for the metrics); a re-send of its
// bytes mends it (claimAttachment).

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
	// the files whose last check found them damaged (not forgotten with
	// last: the metric counts them until they are sound again or gone).
	last    map[string]scanCheck
	damaged map[string]bool
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
		return reason.Errorf(reason.NotFound, nil, "no file %s here", sha)
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
	err := b.db.View(func(txn *badger.Txn) error {
		mark = partsMark(txn, sha)
		if !force {
			if last, cached = b.scans.recent(sha, mark, time.Now()); cached {
				return nil
			}
		}
		var err error
		if sum, n, err = hashStored(txn, sha); err == nil && n < size {
			// Parts missing at the end: as a gap (hashStored).
			err = fmt.Errorf("casebook: file %s has no bytes at %d of its %d: %w", sha, n, size, ErrReplacing)
		}
		return err
	})
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
		c.last, c.damaged = map[string]scanCheck{}, map[string]bool{}
	}
	if len(c.last) >= maxScanChecks {
		for k, l := range c.last {
			if now.Sub(l.at) >= scanCheckFor {
				delete(c.last, k)
			}
		}
	}
	c.last[sha] = scanCheck{at: now, parts: mark, sound: sound}
	was := c.damaged[sha]
	if sound {
		delete(c.damaged, sha)
	} else {
		c.damaged[sha] = true
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
// whose stored bytes were found damaged at their last check.
func (b *Book) DamagedAttachments() int {
	c := &b.scans
	c.mu.Lock()
	files := make([]string, 0, len(c.damaged))
	for sha := range c.damaged {
		files = append(files, sha)
	}
	c.mu.Unlock()
	n := 0
	for _, sha := range files {
		if _, complete := b.AttachmentHeld(sha); complete {
			n++
		} else {
			// Dropped (no case named it), or the book replaced: nothing
			// left to mend.
			c.mu.Lock()
			delete(c.damaged, sha)
			c.mu.Unlock()
		}
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
// A part that does not start where the one before ended is a book being
// replaced under the read (ErrReplacing), as in ReadAttachment.
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
			return "", 0, fmt.Errorf("casebook: file %s has no bytes at %d (its next part starts at %d): %w", sha, next, start, ErrReplacing)
		}
		if err := it.Item().Value(func(v []byte) error {
			h.Write(v)
			next += int64(len(v))
			return nil
		}); err != nil {
			return "", 0, err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), next, nil
}
