package casebook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// randomScan is a PDF of n random bytes (no run of them found twice in
// the value log), and its SHA-256.
func randomScan(n int, seed uint64) (string, []byte) {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	copy(b, "%PDF-1.7\n")
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), b
}

// keysUnder counts the book's keys under prefix p.
func (o *office) keysUnder(p string) int {
	n := 0
	o.book.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.PrefetchValues = []byte(p), false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	return n
}

// markNamed marks file sha named by a case, as saving a case's events
// does: kept, and out of its office's quota.
func (o *office) markNamed(sha string) {
	o.t.Helper()
	if err := o.book.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(key(pAttachmentNamed, sha), nil); err != nil {
			return err
		}
		return txn.Delete(key(pAttachmentUnnamed, sha))
	}); err != nil {
		o.t.Fatal(err)
	}
}

// sendMarked sends data as sendScan does, its first part marked as the
// leader marks a re-send when its copy is damaged (PutAttachmentPart.mend,
// office.Service.PutAttachmentPart).
func (o *office) sendMarked(sha string, data []byte, partBytes int, office string) *peerv1.AttachmentProgress {
	o.t.Helper()
	var got *peerv1.AttachmentProgress
	for off := 0; off < len(data); off += partBytes {
		var err error
		got, err = o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF,
			Offset: int64(off), Data: data[off:min(off+partBytes, len(data))], UploaderOffice: office, Mend: off == 0})
		if err != nil {
			o.t.Fatalf("%s's part at %d: %v", office, off, err)
		}
	}
	return got
}

// The largest scan, sent again in the smallest parts a client may send
// (casework.MinAttachmentPartBytes), ends: by its uploader, whose re-send
// mends a damaged copy; by another office whose claim the leader marks a
// mending. A claim of a sound copy keeps nothing aside and writes no part
// of the file (the stored parts' versions are as they were).
func TestTheLargestScanReSentInTheSmallestPartsEnds(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	sha, data := randomScan(casework.MaxAttachmentBytes, 7)
	if got := o.sendScan(sha, data, casework.AttachmentPartBytes, village); !got.GetComplete() {
		t.Fatalf("the upload: %v", got)
	}
	if err := o.book.Sync(); err != nil {
		t.Fatal(err)
	}
	corruptOnDisk(t, o.book.db.Opts().Dir, data[5<<20:5<<20+64])
	if err := o.book.CheckAttachment(sha); err == nil {
		t.Fatal("the copy is not damaged")
	}
	readsWhole := func(who string) {
		t.Helper()
		if got, err := o.book.ReadAttachment(sha, 0, len(data)); err != nil || !bytes.Equal(got, data) {
			t.Errorf("after %s: the file reads %d bytes, %v", who, len(got), err)
		}
	}

	if got := o.sendScan(sha, data, casework.MinAttachmentPartBytes, village); !got.GetComplete() {
		t.Fatalf("the village's re-send in parts of %d bytes: %v", casework.MinAttachmentPartBytes, got)
	}
	readsWhole("the village's re-send")
	if got := o.sendMarked(sha, data, casework.MinAttachmentPartBytes, township); !got.GetComplete() || !o.book.AttachmentUploadedBy(sha, township) {
		t.Fatalf("the township's claim marked a mending, in parts of %d bytes: %v", casework.MinAttachmentPartBytes, got)
	}
	readsWhole("the township's claim")
	if n := o.keysUnder(pAttachmentStaged); n != 0 {
		t.Errorf("%d parts left aside after the re-sends", n)
	}

	var before uint64
	o.book.view(func(txn *badger.Txn) error { before = partsMark(txn, sha); return nil })
	for off := 0; off < len(data); off += casework.MinAttachmentPartBytes {
		got, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF,
			Offset: int64(off), Data: data[off:min(off+casework.MinAttachmentPartBytes, len(data))], UploaderOffice: county})
		if err != nil {
			t.Fatalf("the county's claim at %d: %v", off, err)
		}
		if off == len(data)/2 {
			if n := o.keysUnder(pAttachmentStaged); n != 0 {
				t.Errorf("halfway through a claim of a sound copy, %d parts kept aside", n)
			}
		}
		if off+casework.MinAttachmentPartBytes >= len(data) && !got.GetComplete() {
			t.Fatalf("the county's claim: %v", got)
		}
	}
	var after uint64
	o.book.view(func(txn *badger.Txn) error { after = partsMark(txn, sha); return nil })
	if !o.book.AttachmentUploadedBy(sha, county) {
		t.Error("the county is not an uploader after its claim")
	}
	if after != before {
		t.Error("a claim of a sound copy wrote the file's parts again")
	}
	readsWhole("the county's claim")
}

// sweepScans applies the day's sweep (DropUnnamedAttachments a day after at)
// as the leader proposes it, a command at a time while the book holds
// what is due and a command says there is more, and answers how many
// commands it took. Every command applies (none is too large), and
// between them no file is held whole with a part gone.
func (o *office) sweepScans(at time.Time, check func()) int {
	o.t.Helper()
	cutoff := at.Add(-24 * time.Hour)
	for n := 1; n <= 50; n++ {
		o.index++
		res := o.book.Apply([]Entry{{Index: o.index, At: at.UnixNano(), Cmd: &peerv1.CaseCommand{Op: &peerv1.CaseCommand_DropUnnamedAttachments{
			DropUnnamedAttachments: &peerv1.DropUnnamedAttachments{OlderThanUnixNano: cutoff.UnixNano()}}}}}, o.index, o.reg)[0]
		if res.Err != nil {
			o.t.Fatalf("the sweep's command %d: %v", n, res.Err)
		}
		check()
		got := res.Value.(*peerv1.AttachmentProgress)
		if !o.book.UnnamedAttachmentsBefore(cutoff) || got.GetReceived() == 0 && got.GetComplete() {
			return n
		}
	}
	o.t.Fatal("the sweep did not end in 50 commands")
	return 0
}

// Files and re-sends given up, sent in tiny parts (as a client could
// before parts had a smallest size: the book applies the parts its log
// holds), are dropped by the day's sweep a bounded number of keys a
// command: none of its commands is too large to apply, so none blocks
// the sweep of the office's other files, and the office's quota is given
// back. Meanwhile a file being dropped is held in part, never whole with
// a part gone; a file a case names stays whole.
func TestTheSweepDropsWhatWasSentInTinyPartsACommandAtATime(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	const tiny = 100
	unfiled, unfiledData := randomScan(400<<10, 1) // uploaded whole, never filed
	o.sendScan(unfiled, unfiledData, tiny, village)
	named, namedData := randomScan(300<<10, 2) // a case names it; its mending was given up
	o.sendScan(named, namedData, casework.AttachmentPartBytes, village)
	o.markNamed(named)
	for off := 0; off < len(namedData)*2/3; off += tiny {
		o.putPart(&peerv1.PutAttachmentPart{Sha256: named, Size: int64(len(namedData)), ContentType: casework.TypePDF,
			Offset: int64(off), Data: namedData[off : off+tiny], UploaderOffice: village})
	}
	abandoned, abandonedData := randomScan(3000, 3) // an upload given up
	o.putPart(&peerv1.PutAttachmentPart{Sha256: abandoned, Size: int64(len(abandonedData)), ContentType: casework.TypePDF,
		Data: abandonedData[:1000], UploaderOffice: village})
	if n := o.keysUnder(pAttachmentStaged); n < dropBudgetKeys {
		t.Fatalf("setup: %d parts kept aside, want more than a command drops", n)
	}

	commands := o.sweepScans(o.now.Add(25*time.Hour), func() {
		if held, complete := o.book.AttachmentHeld(unfiled); complete {
			if _, err := o.book.ReadAttachment(unfiled, 0, len(unfiledData)); err != nil {
				t.Errorf("the unfiled scan is held whole while it is dropped, and reads %v", err)
			}
		} else if held != nil && held.GetOffset() > 0 {
			if got, err := o.book.ReadAttachment(unfiled, 0, 10); err == nil {
				t.Errorf("a scan held in part (%d bytes) reads %d bytes", held.GetOffset(), len(got))
			}
		}
	})
	if commands < 3 {
		t.Errorf("the sweep took %d commands; with over 8,000 keys to drop, want at least 3", commands)
	}
	for _, sha := range []string{unfiled, abandoned} {
		if held, _ := o.book.AttachmentHeld(sha); held != nil {
			t.Errorf("file %s is held a day on (%d bytes)", sha[:12], held.GetOffset())
		}
	}
	if n := o.keysUnder(pAttachmentPart + unfiled); n != 0 {
		t.Errorf("%d parts of the unfiled scan left", n)
	}
	if n, c := o.keysUnder(pAttachmentStaged), o.book.AttachmentClaim(named, village); n != 0 || c != 0 {
		t.Errorf("the mending given up left %d parts aside, %d bytes sent", n, c)
	}
	if got, err := o.book.ReadAttachment(named, 0, len(namedData)); err != nil || !bytes.Equal(got, namedData) {
		t.Errorf("the scan a case names reads %d bytes, %v", len(got), err)
	}
	if b, n := o.book.UnnamedBytes(village); b != 0 || n != 0 {
		t.Errorf("the village's quota counts %d bytes in %d files a day on", b, n)
	}
}

// A mending given up, whose first parts the sweep dropped, that its
// sender then goes on with, ends with nothing replaced: a part kept aside
// is missing, and the stored copy is left as it was, never replaced by a
// file with a gap.
func TestAMendingGoneOnWithAfterTheSweepBeganToDropItReplacesNothing(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	const tiny = 100
	sha, data := randomScan(400<<10, 4)
	o.sendScan(sha, data, casework.AttachmentPartBytes, village)
	o.markNamed(sha)
	half := len(data) / 2 / tiny * tiny
	for off := 0; off < half; off += tiny {
		o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF,
			Offset: int64(off), Data: data[off : off+tiny], UploaderOffice: village})
	}
	at := o.now.Add(25 * time.Hour)
	o.index++
	res := o.book.Apply([]Entry{{Index: o.index, At: at.UnixNano(), Cmd: &peerv1.CaseCommand{Op: &peerv1.CaseCommand_DropUnnamedAttachments{
		DropUnnamedAttachments: &peerv1.DropUnnamedAttachments{OlderThanUnixNano: at.Add(-24 * time.Hour).UnixNano()}}}}}, o.index, o.reg)[0]
	if res.Err != nil || res.Value.(*peerv1.AttachmentProgress).GetComplete() {
		t.Fatalf("setup: the sweep's first command %v, %v; want it to drop part of the mending", res.Value, res.Err)
	}
	if got := o.book.AttachmentClaim(sha, village); got != int64(half) {
		t.Fatalf("setup: the mending holds %d bytes sent, want %d", got, half)
	}
	var got *peerv1.AttachmentProgress
	for off := half; off < len(data); off += tiny {
		var err error
		got, err = o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF,
			Offset: int64(off), Data: data[off:min(off+tiny, len(data))], UploaderOffice: village})
		if err != nil {
			t.Fatalf("the mending's part at %d: %v", off, err)
		}
	}
	if got.GetComplete() || got.GetReceived() != 0 {
		t.Errorf("the mending with parts dropped aside ended %v; want nothing received (upload it again)", got)
	}
	if got, err := o.book.ReadAttachment(sha, 0, len(data)); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the stored copy reads %d bytes, %v", len(got), err)
	}
	if n := o.keysUnder(pAttachmentStaged); n != 0 {
		t.Errorf("%d parts left aside", n)
	}
}
