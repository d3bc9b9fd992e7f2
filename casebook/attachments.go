package casebook

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/reason"
)

// Scanned files (casework's attachments), stored by their SHA-256 beside
// the cases, so that they are in the office's raft log, its snapshots and
// every node's book like the rest:
//
//	book/fa/<sha256>            what is held: a PutAttachmentPart without
//	                            data, offset = the bytes held
//	book/fp/<sha256><offset>    a part (at most casework.AttachmentPartBytes)
//	book/fu/<sha256>\0<office> empty: the office's staff uploaded it (or
//	                            the office below pushed it)
//	book/fn/<sha256>            empty: a case's event names it (kept)
//	book/fc/<sha256>\0<office> an office's re-send of a file held whole
//	                            (a claim by an office that did not upload
//	                            it, or the mending of a damaged copy): the
//	                            bytes it sent again (8), when it began (8),
//	                            the hash's state over them, and 1 when it
//	                            mends (its parts kept aside), else 0
//	book/fs/<sha256>\0<office>\0<offset>
//	                            a part of a mending's bytes, kept aside
//	                            until the re-send is whole and hashes to
//	                            the name
//	book/fw/<sha256>            while no case names the file: its size (8)
//	                            and the office whose part began it, for
//	                            the office's quota (UnnamedBytes); none for
//	                            a file begun by a push from below
//	book/ft/<sha256>            while no case names a file held (pushed
//	                            from below too): when its first part came
//	                            (8 bytes of Unix ns), the sweep's list
//	                            (unnamedKey)
//
// A file no case names is dropped a day after its first part came
// (DropUnnamedAttachments, proposed by the leader's sweep): an upload
// abandoned, or never filed, does not stay.
//
// Parts are stored in order, each from what is held: a part from
// elsewhere is answered with what is held, and the sender goes on from
// there (an upload or a push cut off resumes). The last part's arrival
// checks the hash over the whole file; a file that does not hash to its
// name is dropped, all of it, with its uploaders. An office becomes an
// uploader by the part that makes the file whole, its hash checked, or,
// for a file held whole already (uploaded elsewhere, or pushed from
// below), by sending all of it again, in order, until what it sent
// hashes to the name (claimAttachment): knowing a scan's hash is not
// having it, and a filing may name only what its own office uploaded.
// A re-send the leader marks as a mending (its copy damaged:
// attachments_check.go), and every re-send by an office that uploaded
// the file (the leader proposes it only then), keeps its bytes aside;
// once they hash to the name they replace the stored parts. A claim of a
// sound copy keeps only its hash's state, and writes no part.
const (
	pAttachment         = prefix + "fa/"
	pAttachmentPart     = prefix + "fp/"
	pAttachmentUploader = prefix + "fu/"
	pAttachmentNamed    = prefix + "fn/"
	pAttachmentClaim    = prefix + "fc/"
	pAttachmentStaged   = prefix + "fs/"
	pAttachmentUnnamed  = prefix + "fw/"
	pUnnamedFile        = prefix + "ft/"
)

// unnamedKey is file sha's entry among the files held that no case names
// (book/ft/), its value when its first part came: written with the
// file's record unless a case names it already, deleted when an event
// names it or the record goes. The sweep reads these, a day's uploads
// not filed yet at most, not every file the book holds (a county holds
// a million and more); a filing looks only this key up for each scan it
// names.
func unnamedKey(sha string) []byte { return key(pUnnamedFile, sha) }

// putAttachmentPart stores a part of a file, once, in order.
func (o *overlay) putAttachmentPart(p *peerv1.PutAttachmentPart) (*peerv1.AttachmentProgress, error) {
	if err := casework.CheckAttachmentPart(p.GetSha256(), p.GetSize(), p.GetContentType(), p.GetOffset(), p.GetData()); err != nil {
		return nil, err
	}
	held := &peerv1.PutAttachmentPart{}
	found := o.getProto(key(pAttachment, p.GetSha256()), held)
	if !found {
		held = &peerv1.PutAttachmentPart{Sha256: p.GetSha256(), Size: p.GetSize(), ContentType: p.GetContentType(), FirstAtUnixNano: o.at}
	}
	begun := !found // the record is new (or begun again): listed by its time below
	progress := func() *peerv1.AttachmentProgress {
		return &peerv1.AttachmentProgress{Received: held.GetOffset(), Complete: held.GetOffset() == held.GetSize()}
	}
	if held.GetSize() != p.GetSize() || held.GetContentType() != p.GetContentType() {
		// A file held whole is what its hash says, so another size or type
		// is a mistake of the sender's. A file held in part was begun
		// under a size or type that may be the mistaken one (or a
		// stranger's, to block the hash): a first part starts it over.
		if held.GetOffset() == held.GetSize() || p.GetOffset() != 0 || len(p.GetData()) == 0 {
			return nil, reason.Errorf(reason.FailedPrecondition, nil, "file %s is held as %d bytes of %s, not %d of %s",
				p.GetSha256(), held.GetSize(), held.GetContentType(), p.GetSize(), p.GetContentType())
		}
		o.dropParts(p.GetSha256())
		o.dropUploaders(p.GetSha256()) // of a release that recorded them at a first part
		held = &peerv1.PutAttachmentPart{Sha256: p.GetSha256(), Size: p.GetSize(), ContentType: p.GetContentType(), FirstAtUnixNano: o.at}
		begun = true
	}
	u := p.GetUploaderOffice()
	if _, uploaded := o.get(key(pAttachmentUploader, p.GetSha256(), u)); u != "" && found && held.GetOffset() == held.GetSize() {
		return o.claimAttachment(p, held.GetSize(), uploaded)
	}
	if p.GetOffset() != held.GetOffset() || len(p.GetData()) == 0 {
		return progress(), nil // not the next part: the sender goes on from what is held
	}
	if held.GetOffset()+int64(len(p.GetData())) == held.GetSize() {
		sum, err := o.hashParts(p.GetSha256(), p)
		if err != nil {
			return nil, err
		}
		if sum != p.GetSha256() {
			// The file is not what it is named: all of it goes, and the
			// answer says nothing is held (the uploader is told).
			o.dropParts(p.GetSha256())
			o.del(key(pAttachment, p.GetSha256()))
			o.del(key(pAttachmentUnnamed, p.GetSha256()))
			if found {
				o.del(unnamedKey(p.GetSha256()))
			}
			o.dropUploaders(p.GetSha256())
			return &peerv1.AttachmentProgress{}, nil
		}
		if u != "" {
			// The part that makes the file whole, its hash checked: the
			// office that sent it is its uploader.
			o.set(key(pAttachmentUploader, p.GetSha256(), u), nil)
		}
	}
	if held.GetOffset() == 0 && !p.GetPushed() {
		// The file's first part (a new file, or one begun again): until a
		// case names it, its size counts against the office that began it
		// (UnnamedBytes, the office's quota of scans). A file pushed up
		// from below counts nowhere: the office below's quota bounded it
		// there, and its case message follows.
		if _, named := o.get(key(pAttachmentNamed, p.GetSha256())); !named {
			o.set(key(pAttachmentUnnamed, p.GetSha256()), append(be64(uint64(p.GetSize())), u...))
		}
	}
	if begun {
		if _, named := o.get(key(pAttachmentNamed, p.GetSha256())); !named {
			o.set(unnamedKey(p.GetSha256()), be64(uint64(held.GetFirstAtUnixNano())))
		}
	}
	o.set(key(pAttachmentPart, p.GetSha256(), be64(uint64(p.GetOffset()))), p.GetData())
	held.Offset += int64(len(p.GetData()))
	o.setProto(key(pAttachment, p.GetSha256()), held)
	return progress(), nil
}

// UnnamedBytes is what the book holds of the files no case names yet
// that office began (its part stored first), and of the re-sends of
// files held whole that it has under way (claimAttachment, until they end
// or are dropped): their sizes, whole or held in part, and how many they
// are. A file counts from its first part until an event of a case here
// names it, or it is dropped (a day on, or for a hash that fails); a
// file begun by a push from below counts nowhere. A file counts once: a
// re-send of one that counts against office already (its own file, sent
// again to mend it) adds nothing. Files begun before this count was kept
// are not in it.
func (b *Book) UnnamedBytes(office string) (held int64, files int) {
	b.view(func(txn *badger.Txn) error {
		if err := eachKey(txn, []byte(pAttachmentUnnamed), func(_, v []byte) error {
			if len(v) >= 8 && string(v[8:]) == office {
				held += int64(binary.BigEndian.Uint64(v[:8]))
				files++
			}
			return nil
		}); err != nil {
			return err
		}
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.PrefetchValues = []byte(pAttachmentClaim), false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			rest := it.Item().Key()[len(pAttachmentClaim):]
			i := bytes.IndexByte(rest, 0)
			if i < 0 || string(rest[i+1:]) != office {
				continue
			}
			if w := getRaw(txn, key(pAttachmentUnnamed, string(rest[:i]))); len(w) >= 8 && string(w[8:]) == office {
				continue // counted above: the office's own file, sent again
			}
			f := &peerv1.PutAttachmentPart{}
			if _, err := getProto(txn, key(pAttachment, string(rest[:i])), f); err != nil {
				return err
			}
			held += f.GetSize()
			files++
		}
		return nil
	})
	return held, files
}

// UnnamedFile is the office file sha counts against while no case names
// it (UnnamedBytes), and its size then; ok is false when it counts
// against none.
func (b *Book) UnnamedFile(sha string) (office string, size int64, ok bool) {
	b.view(func(txn *badger.Txn) error {
		if v := getRaw(txn, key(pAttachmentUnnamed, sha)); len(v) >= 8 {
			office, size, ok = string(v[8:]), int64(binary.BigEndian.Uint64(v[:8])), true
		}
		return nil
	})
	return office, size, ok
}

// claimAttachment takes part p of an office's re-send of a file held
// whole (size bytes): a claim by an office that did not upload it, or,
// by one that did (uploaded), a mending of a copy the leader found
// damaged (office.Service.PutAttachmentPart proposes it only then). The
// parts must come in order from the start; when they add up to the file
// and hash to its name, the office is an uploader of it. A re-send that
// mends (an uploader's, or one whose first part the leader marked
// p.mend: its copy is damaged) keeps its parts aside (book/fs/) and,
// whole and hashed, puts them in the place of the stored parts, in the
// command of its last part (replaceParts): a damaged copy is mended on
// every node. A claim of a sound copy keeps only its hash's state, and
// writes no part. Whether a re-send mends is decided by its first part
// and kept in its record, so that every node, and a later leader, treat
// its parts alike. A part out of order (or empty) is
// answered with how far the re-send has come, or, from an uploader, that
// the file is held whole (a part sent twice, as before re-sends); a
// re-send whose bytes do not hash to the name ends with nothing of it
// kept (the answer says so, as for an upload), the stored parts as they
// were.
func (o *overlay) claimAttachment(p *peerv1.PutAttachmentPart, size int64, uploaded bool) (*peerv1.AttachmentProgress, error) {
	sha, office := p.GetSha256(), p.GetUploaderOffice()
	k := key(pAttachmentClaim, sha, office)
	sent, began, mend, h := claimOf(o.get(k))
	if began == 0 {
		began = o.at
	}
	if p.GetOffset() != sent || len(p.GetData()) == 0 {
		if uploaded {
			return &peerv1.AttachmentProgress{Received: size, Complete: true}, nil
		}
		return &peerv1.AttachmentProgress{Received: sent}, nil
	}
	staged := key(pAttachmentStaged, sha, office, "")
	if sent == 0 {
		mend = uploaded || p.GetMend()
	}
	h.Write(p.GetData())
	sent += int64(len(p.GetData()))
	if sent < size {
		state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return nil, err
		}
		flag := byte(0)
		if mend {
			flag = 1
		}
		o.set(k, append(append(append(be64(uint64(sent)), be64(uint64(began))...), state...), flag))
		if mend {
			o.set(append(bytes.Clone(staged), be64(uint64(p.GetOffset()))...), p.GetData())
		}
		return &peerv1.AttachmentProgress{Received: sent}, nil
	}
	o.del(k)
	if sent != size || hex.EncodeToString(h.Sum(nil)) != sha {
		o.dropKeys(staged)
		return &peerv1.AttachmentProgress{}, nil
	}
	if mend {
		replaced, err := o.replaceParts(sha, staged, p)
		if err != nil {
			return nil, err
		}
		if !replaced {
			o.dropKeys(staged)
			return &peerv1.AttachmentProgress{}, nil
		}
	}
	o.set(key(pAttachmentUploader, sha, office), nil)
	return &peerv1.AttachmentProgress{Received: size, Complete: true}, nil
}

// replaceParts puts the parts a mending kept aside (under staged) and
// last, its last part, in the place of file sha's stored parts, and
// deletes them from aside. The parts kept aside must follow one another
// from the start of the file to last (a part dropped meanwhile by the
// sweep, which drops a re-send given up a part at a time, leaves a gap):
// replaced is false otherwise, and nothing is written. A file is at most
// casework.MaxAttachmentBytes/casework.MinAttachmentPartBytes+1 parts
// sent (321), within a command's key limit.
func (o *overlay) replaceParts(sha string, staged []byte, last *peerv1.PutAttachmentPart) (replaced bool, err error) {
	type part struct{ k, v []byte }
	var parts []part
	var next int64
	follows := true
	if err := o.eachKey(staged, func(sk, v []byte) error {
		if len(sk) != len(staged)+8 || int64(binary.BigEndian.Uint64(sk[len(staged):])) != next {
			follows = false
		}
		next += int64(len(v))
		parts = append(parts, part{sk, v})
		return nil
	}); err != nil {
		return false, err
	}
	if !follows || next != last.GetOffset() {
		return false, nil
	}
	o.dropParts(sha)
	for _, p := range parts {
		o.set(key(pAttachmentPart, sha, p.k[len(staged):]), p.v)
		o.del(p.k)
	}
	o.set(key(pAttachmentPart, sha, be64(uint64(last.GetOffset()))), last.GetData())
	return true, nil
}

// dropKeys deletes the keys under prefix p held before this command
// (their values are not read).
func (o *overlay) dropKeys(p []byte) {
	opts := badger.DefaultIteratorOptions
	opts.Prefix, opts.PrefetchValues = p, false
	it := o.txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		o.del(it.Item().KeyCopy(nil))
	}
}

// claimOf decodes a claim's value (book/fc/): the bytes sent, when it
// began (unix ns), whether it mends (its parts kept aside), and the hash
// over them; a claim not held (or not readable) is one not begun. A
// record without the mark (written before re-sends were told apart) is a
// mending: every re-send kept its parts aside then.
func claimOf(v []byte, ok bool) (sent, began int64, mend bool, h hash.Hash) {
	h = sha256.New()
	if !ok || len(v) < 16 {
		return 0, 0, false, sha256.New()
	}
	state, mend := v[16:], true
	if len(state) == hashStateBytes+1 {
		state, mend = state[:hashStateBytes], state[hashStateBytes] == 1
	}
	if h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state) != nil {
		return 0, 0, false, sha256.New()
	}
	return int64(binary.BigEndian.Uint64(v[:8])), int64(binary.BigEndian.Uint64(v[8:16])), mend, h
}

// hashStateBytes is the length of a SHA-256's state marshalled.
var hashStateBytes = func() int {
	state, err := sha256.New().(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic(err)
	}
	return len(state)
}()

// AttachmentClaim is how many bytes of file sha office has sent again to
// claim it (claimAttachment), 0 when none.
func (b *Book) AttachmentClaim(sha, office string) int64 {
	var sent int64
	b.view(func(txn *badger.Txn) error {
		v := getRaw(txn, key(pAttachmentClaim, sha, office))
		sent, _, _, _ = claimOf(v, v != nil)
		return nil
	})
	return sent
}

// dropUploaders deletes the uploader records and claims of a file, and
// the bytes the claims sent.
func (o *overlay) dropUploaders(sha string) {
	for _, p := range []string{pAttachmentUploader, pAttachmentClaim, pAttachmentStaged} {
		o.dropKeys(key(p, sha, ""))
	}
}

// hashParts hashes the parts held of a file and last, the part being
// stored.
func (o *overlay) hashParts(sha string, last *peerv1.PutAttachmentPart) (string, error) {
	h := sha256.New()
	if last.GetOffset() == 0 { // the file in one part (any parts held before are being dropped)
		h.Write(last.GetData())
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	var next int64
	err := o.eachKey(key(pAttachmentPart, sha), func(k, v []byte) error {
		if len(v) == 0 {
			return nil
		}
		h.Write(v)
		next += int64(len(v))
		return nil
	})
	if err != nil {
		return "", err
	}
	if next != last.GetOffset() {
		return "", fmt.Errorf("casebook: file %s: parts hold %d bytes before the last at %d", sha, next, last.GetOffset())
	}
	h.Write(last.GetData())
	return hex.EncodeToString(h.Sum(nil)), nil
}

// dropParts deletes the parts of a file held before this command.
func (o *overlay) dropParts(sha string) { o.dropKeys(key(pAttachmentPart, sha)) }

// AttachmentUploadedBy reports whether staff of office uploaded the file
// here (or office, below, pushed it up).
func (b *Book) AttachmentUploadedBy(sha, office string) bool {
	found := false
	b.view(func(txn *badger.Txn) error {
		_, err := txn.Get(key(pAttachmentUploader, sha, office))
		found = err == nil
		return nil
	})
	return found
}

// AttachmentHeld reports how much of a file the book holds: its size and
// type, the bytes held, and whether all of it is, its hash checked.
func (b *Book) AttachmentHeld(sha string) (held *peerv1.PutAttachmentPart, complete bool) {
	held = &peerv1.PutAttachmentPart{}
	var ok bool
	b.view(func(txn *badger.Txn) (err error) {
		ok, err = getProto(txn, key(pAttachment, sha), held)
		return err
	})
	if !ok {
		return nil, false
	}
	return held, held.GetOffset() == held.GetSize()
}

// ReadAttachment reads up to limit bytes of a whole file from offset,
// once its stored bytes are found to hash to its name (checkStored: from
// offset 0 always; further on, unless the same parts were found sound
// within scanCheckFor). A damaged copy is an error wrapping
// ErrAttachmentDamaged, and nothing of it is read; so is a part that
// cannot be read back, or is missing, found by the read itself, unless
// the book is being replaced under it (ErrReplacing). A file dropped
// since the read began (the sweep) is missing (NOT_FOUND), as one not
// held.
func (b *Book) ReadAttachment(sha string, offset int64, limit int) ([]byte, error) {
	held, complete := b.AttachmentHeld(sha)
	if !complete {
		return nil, notHeld(sha)
	}
	if offset < 0 || offset > held.GetSize() {
		return nil, reason.Errorf(reason.InvalidValue, nil, "offset %d is outside the file's %d bytes", offset, held.GetSize())
	}
	if err := b.checkStored(sha, held.GetSize(), offset == 0); err != nil {
		return nil, err
	}
	var (
		out  []byte
		mark uint64
	)
	generation := b.generation.Load()
	err := b.db.View(func(txn *badger.Txn) error {
		if err := stillHeld(txn, sha, held.GetSize()); err != nil {
			return err // dropped since it was checked: missing, not damaged
		}
		mark = partsMark(txn, sha)
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.PrefetchValues = key(pAttachmentPart, sha), false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid() && len(out) < limit; it.Next() {
			item := it.Item()
			k := item.Key()
			start := int64(binary.BigEndian.Uint64(k[len(k)-8:]))
			if start+item.ValueSize() <= offset {
				continue // before the offset: not read
			}
			if start > offset {
				// Parts are written whole and in order: a gap is a book
				// being replaced under the read (Restore), or a damaged
				// copy; never bytes to leave out.
				return fmt.Errorf("casebook: file %s has no bytes at %d (its next part starts at %d): %w", sha, offset, start, errPartLost)
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if readShort(item, v) || start+int64(len(v)) < offset {
				return fmt.Errorf("casebook: file %s: the part at %d reads %d bytes of about %d: %w", sha, start, len(v), item.ValueSize(), errPartLost)
			}
			out = append(out, v[offset-start:]...)
			offset = start + int64(len(v))
		}
		if len(out) < limit && offset < held.GetSize() {
			return fmt.Errorf("casebook: file %s has no bytes at %d of its %d: %w", sha, offset, held.GetSize(), errPartLost)
		}
		return nil
	})
	if errors.Is(err, errPartLost) {
		if b.replacedSince(generation) {
			return nil, fmt.Errorf("%w (%v)", ErrReplacing, err)
		}
		b.noteCheck(sha, mark, false, offset, held.GetSize())
		return nil, damaged(sha)
	}
	if err != nil {
		return nil, err
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// dropUnnamed drops the files no case names whose first part came before
// the command's cutoff, at most MaxFiles of them: their parts, record and
// uploaders; and the re-sends begun before it and never finished, with
// the bytes they kept aside. It deletes at most dropBudgetKeys keys
// (dropRoom): a file or a re-send of more parts than that (sent before
// parts had a smallest size, casework.MinAttachmentPartBytes) is dropped
// a part at a time over several commands, so that none is too large to
// apply and blocks the sweep. It answers how many files and re-sends it
// dropped whole (AttachmentProgress.received), and whether it dropped all
// it found due (complete); the sweep proposes another while not.
func (o *overlay) dropUnnamed(d *peerv1.DropUnnamedAttachments) (*peerv1.AttachmentProgress, error) {
	limit := int(d.GetMaxFiles())
	if limit <= 0 || limit > maxDropFiles {
		limit = maxDropFiles
	}
	drop, err := o.unnamedBefore(d.GetOlderThanUnixNano(), limit)
	if err != nil {
		return nil, err
	}
	dropped, complete := 0, true
	for _, sha := range drop {
		whole, err := o.dropFile(sha)
		if err != nil {
			return nil, err
		}
		if !whole {
			complete = false
			break // the rest at the next command: within its key limit
		}
		dropped++
	}
	// Re-sends begun as long ago and never finished (a claim or a
	// re-upload given up) go too, with the bytes they kept aside.
	var claims [][]byte
	err = o.eachKey([]byte(pAttachmentClaim), func(k, v []byte) error {
		if w, gone := o.writes[string(k)]; gone && w.del {
			return nil // its file's: dropped above
		}
		if _, began, _, _ := claimOf(v, true); dropped+len(claims) < limit && began < d.GetOlderThanUnixNano() {
			claims = append(claims, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	n := 0
	for _, k := range claims {
		if !complete || !o.dropRoom() {
			complete = false
			break
		}
		// The bytes kept aside first, the re-send's record last: until
		// it goes, the sweep finds the re-send again (and a re-send that
		// goes on meanwhile cannot end with a part missing:
		// replaceParts).
		if !o.dropSome(append([]byte(pAttachmentStaged+string(k[len(pAttachmentClaim):])), 0)) {
			complete = false
			break
		}
		o.del(k)
		n++
	}
	return &peerv1.AttachmentProgress{Received: int64(dropped + n), Complete: complete}, nil
}

// dropFile deletes what the book holds of file sha, within the command's
// room (dropRoom), and reports whether it deleted it all. Its parts go
// first, from the last: until all are gone the record stays, holding the
// bytes before the first part deleted (a file held in part, never one
// with a gap), and the sweep finds the file again. Then the re-sends'
// bytes kept aside, the re-sends, the uploaders, and the record.
func (o *overlay) dropFile(sha string) (whole bool, err error) {
	if !o.dropRoom() {
		return false, nil
	}
	rest, all := o.dropPartsFromTheEnd(sha)
	if !all {
		held := &peerv1.PutAttachmentPart{}
		if o.getProto(key(pAttachment, sha), held) && held.GetOffset() > rest {
			held.Offset = rest
			o.setProto(key(pAttachment, sha), held)
		}
		return false, nil
	}
	for _, p := range []string{pAttachmentStaged, pAttachmentClaim, pAttachmentUploader} {
		if !o.dropSome(key(p, sha, "")) {
			held := &peerv1.PutAttachmentPart{}
			if o.getProto(key(pAttachment, sha), held) && held.GetOffset() > 0 {
				held.Offset = 0
				o.setProto(key(pAttachment, sha), held)
			}
			return false, nil
		}
	}
	o.del(key(pAttachment, sha))
	o.del(key(pAttachmentUnnamed, sha))
	o.del(unnamedKey(sha))
	return true, nil
}

// unnamedBefore answers the first limit files, by hash, of those no case
// names whose first part came before cutoff (book/ft/): the files a
// release that walked every record (book/fa/, in the order of their
// hashes) dropped in one command, so that nodes of either release drop
// the same.
func (o *overlay) unnamedBefore(cutoff int64, limit int) ([]string, error) {
	var due []string
	err := eachUnnamedListed(o.txn, func(sha string, firstAt int64) bool {
		if firstAt < cutoff {
			if _, named := o.get(key(pAttachmentNamed, sha)); !named {
				due = append(due, sha)
			}
		}
		return len(due) < limit
	})
	if err != nil {
		o.readFailed(err, "read the files named by no case")
	}
	return due, o.err
}

// eachUnnamedListed calls f with each file the book lists as named by no
// case (book/ft/), by hash, and when its first part came, until f
// answers false.
func eachUnnamedListed(txn *badger.Txn, f func(sha string, firstAt int64) bool) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte(pUnnamedFile)
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var at int64
		if err := it.Item().Value(func(v []byte) error {
			if len(v) == 8 {
				at = int64(binary.BigEndian.Uint64(v))
			}
			return nil
		}); err != nil {
			return err
		}
		if !f(string(it.Item().Key()[len(pUnnamedFile):]), at) {
			return nil
		}
	}
	return nil
}

// dropPartsFromTheEnd deletes file sha's parts from the last, within the
// command's room, and answers where the first part deleted started (the
// bytes left, in order from the start) and whether none is left.
func (o *overlay) dropPartsFromTheEnd(sha string) (rest int64, all bool) {
	p := key(pAttachmentPart, sha)
	opts := badger.DefaultIteratorOptions
	opts.Prefix, opts.PrefetchValues, opts.Reverse = p, false, true
	it := o.txn.NewIterator(opts)
	defer it.Close()
	for it.Seek(append(bytes.Clone(p), 0xff)); it.ValidForPrefix(p); it.Next() {
		if !o.dropRoom() {
			return rest, false
		}
		k := it.Item().KeyCopy(nil)
		if len(k) == len(p)+8 {
			rest = int64(binary.BigEndian.Uint64(k[len(p):]))
		}
		o.del(k)
	}
	return 0, true
}

// dropSome deletes the keys under prefix p held before this command,
// within the command's room (dropRoom), and reports whether it deleted
// them all.
func (o *overlay) dropSome(p []byte) bool {
	opts := badger.DefaultIteratorOptions
	opts.Prefix, opts.PrefetchValues = p, false
	it := o.txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if !o.dropRoom() {
			return false
		}
		o.del(it.Item().KeyCopy(nil))
	}
	return true
}

// dropBudgetKeys is how many keys a DropUnnamedAttachments command writes
// at most (and, with dropRoom, half a command's bytes): a command's key
// limit is twice that.
const dropBudgetKeys = maxCommandKeys / 2

// dropRoom reports whether the command may delete another key: it has
// written fewer than dropBudgetKeys, and under half a command's bytes
// (the requests' expiry that the command carries aside).
func (o *overlay) dropRoom() bool {
	return len(o.writes)-o.expiryKeys < dropBudgetKeys && o.size-o.expirySize < maxCommandBytes/2
}

// maxDropFiles bounds the files one DropUnnamedAttachments drops.
const maxDropFiles = 100

// UnnamedAttachmentsBefore reports whether the book holds a file no case
// names whose first part came before t: the sweep proposes only then.
func (b *Book) UnnamedAttachmentsBefore(t time.Time) bool {
	found := false
	b.view(func(txn *badger.Txn) error {
		if err := eachUnnamedListed(txn, func(_ string, firstAt int64) bool {
			found = firstAt < t.UnixNano()
			return !found
		}); err != nil || found {
			return err
		}
		return eachKey(txn, []byte(pAttachmentClaim), func(_, v []byte) error {
			_, began, _, _ := claimOf(v, true)
			found = found || began < t.UnixNano()
			return nil
		})
	})
	return found
}

// indexUnnamed lists the files held that no case names (book/ft/), from
// their records, and deletes an entry no record makes:
// for a book of a release that did not keep the list (before stats
// format 13), at its upgrade, in one walk of the records beside the
// names (1.5 s for a million files). It answers how many files it
// listed.
func (b *Book) indexUnnamed() (int, error) {
	want := map[string]int64{} // the files no case names, few: when they came
	var gone [][]byte
	err := b.db.View(func(txn *badger.Txn) error {
		if err := eachUnnamed(txn, func(sha string, held *peerv1.PutAttachmentPart) error {
			want[sha] = held.GetFirstAtUnixNano()
			return nil
		}); err != nil {
			return err
		}
		return eachUnnamedListed(txn, func(sha string, _ int64) bool {
			if _, ok := want[sha]; !ok {
				gone = append(gone, unnamedKey(sha))
			}
			return true
		})
	})
	if err != nil {
		return 0, err
	}
	wb := b.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range gone {
		if err := wb.Delete(k); err != nil {
			return 0, err
		}
	}
	for sha, at := range want {
		if err := wb.Set(unnamedKey(sha), be64(uint64(at))); err != nil {
			return 0, err
		}
	}
	return len(want), wb.Flush()
}

// eachUnnamed calls f with each file held (book/fa/) that no case names
// (book/fn/) and its record, walking the records and the names side by
// side (both sort by hash), with no lookup for each file. A record that
// does not decode is left out: the sweep never dropped one either.
func eachUnnamed(txn *badger.Txn, f func(sha string, held *peerv1.PutAttachmentPart) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix, opts.PrefetchValues = []byte(pAttachmentNamed), false
	named := txn.NewIterator(opts)
	defer named.Close()
	named.Rewind()
	return eachKey(txn, []byte(pAttachment), func(k, v []byte) error {
		sha := k[len(pAttachment):]
		for named.Valid() && bytes.Compare(named.Item().Key()[len(pAttachmentNamed):], sha) < 0 {
			named.Next()
		}
		if named.Valid() && bytes.Equal(named.Item().Key()[len(pAttachmentNamed):], sha) {
			return nil
		}
		held := &peerv1.PutAttachmentPart{}
		if proto.Unmarshal(v, held) != nil {
			return nil
		}
		return f(string(sha), held)
	})
}
