package casebook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// putPart applies a PutAttachmentPart as the next raft entry.
func (o *office) putPart(p *peerv1.PutAttachmentPart) (*peerv1.AttachmentProgress, error) {
	o.t.Helper()
	o.index++
	res := o.book.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(),
		Cmd: &peerv1.CaseCommand{Op: &peerv1.CaseCommand_PutAttachmentPart{PutAttachmentPart: p}}}}, o.index, o.reg)[0]
	got, _ := res.Value.(*peerv1.AttachmentProgress)
	return got, res.Err
}

// A scan is stored a part at a time, in order: a part sent again or
// ahead of what is held is answered with what is held and changes
// nothing; the last part checks the whole file's hash, and a file that
// does not hash to its name is dropped, all of it. What is stored reads
// back from any offset.
func TestAttachmentPartsInOrderAndHashChecked(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	part := casework.AttachmentPartBytes
	data := bytes.Repeat([]byte("0123456789abcdef"), (2*part+1000)/16)
	copy(data, "%PDF-1.7\n")
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	put := func(offset int, n int) *peerv1.AttachmentProgress {
		t.Helper()
		got, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF,
			Offset: int64(offset), Data: data[offset:min(offset+n, len(data))]})
		if err != nil {
			t.Fatalf("part at %d: %v", offset, err)
		}
		return got
	}
	if got := put(0, part); got.GetReceived() != int64(part) || got.GetComplete() {
		t.Fatalf("after the first part: %v", got)
	}
	if got := put(0, part); got.GetReceived() != int64(part) {
		t.Fatalf("the first part again: %v", got)
	}
	if got := put(2*part, part); got.GetReceived() != int64(part) {
		t.Fatalf("a part ahead: %v", got)
	}
	if _, complete := o.book.AttachmentHeld(sha); complete {
		t.Fatal("complete with a part missing")
	}
	put(part, part)
	if got := put(2*part, part); !got.GetComplete() || got.GetReceived() != int64(len(data)) {
		t.Fatalf("after the last part: %v", got)
	}
	for _, from := range []int{0, 1, part - 1, part, 2*part + 5} {
		got, err := o.book.ReadAttachment(sha, int64(from), 3000)
		if err != nil || !bytes.Equal(got, data[from:min(from+3000, len(data))]) {
			t.Errorf("read from %d: %d bytes, %v", from, len(got), err)
		}
	}

	// Parts gone under a read while the book is replaced (a restore
	// dropping the book's keys before it writes them again) are an error
	// to try again, never a file with bytes left out or cut short; gone
	// while nothing replaces the book, they are a damaged copy.
	for _, gone := range []int{part, 2 * part} {
		k := key(pAttachmentPart, sha, be64(uint64(gone)))
		if err := o.book.db.Update(func(txn *badger.Txn) error { return txn.Delete(k) }); err != nil {
			t.Fatal(err)
		}
		o.book.generation.Add(1) // odd: as while Restore runs
		for _, from := range []int{0, part - 1, gone} {
			if got, err := o.book.ReadAttachment(sha, int64(from), len(data)); !errors.Is(err, ErrReplacing) {
				t.Errorf("part at %d gone while the book is replaced, read from %d: %d bytes, %v", gone, from, len(got), err)
			}
		}
		o.book.generation.Add(1)
		for _, from := range []int{0, part - 1, gone} {
			if got, err := o.book.ReadAttachment(sha, int64(from), len(data)); !errors.Is(err, ErrAttachmentDamaged) {
				t.Errorf("part at %d gone, read from %d: %d bytes, %v", gone, from, len(got), err)
			}
		}
		if err := o.book.db.Update(func(txn *badger.Txn) error { return txn.Set(k, data[gone:min(gone+part, len(data))]) }); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := o.book.ReadAttachment(sha, 0, len(data)); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the whole file again: %d bytes, %v", len(got), err)
	}

	// A file that is not what it is named: nothing of it stays.
	bad := bytes.Clone(data)
	bad[len(bad)-1] ^= 1
	o.putPart(&peerv1.PutAttachmentPart{Sha256: sha[:63] + "0", Size: int64(len(bad)), ContentType: casework.TypePDF, Data: bad[:part]})
	o.putPart(&peerv1.PutAttachmentPart{Sha256: sha[:63] + "0", Size: int64(len(bad)), ContentType: casework.TypePDF, Offset: int64(part), Data: bad[part : 2*part]})
	got, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: sha[:63] + "0", Size: int64(len(bad)), ContentType: casework.TypePDF, Offset: int64(2 * part), Data: bad[2*part:]})
	if err != nil || got.GetReceived() != 0 || got.GetComplete() {
		t.Fatalf("a file not what it is named: %v, %v", got, err)
	}
	if held, _ := o.book.AttachmentHeld(sha[:63] + "0"); held != nil {
		t.Errorf("still held: %v", held)
	}
	// Not a PDF, though it says so.
	if _, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: 10, ContentType: casework.TypePDF, Data: []byte("GIF89a....")}); err == nil {
		t.Error("a GIF stored as a PDF")
	}
}

// A file begun under a wrong size (a mistake, or a stranger blocking its
// hash) is started over by a first part with the right one.
func TestAttachmentBegunWrongStartsOver(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	data := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), 3000)...)
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if _, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: 999999, ContentType: casework.TypePDF, Data: data[:100]}); err != nil {
		t.Fatal(err)
	}
	got, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF, Data: data})
	if err != nil || !got.GetComplete() {
		t.Fatalf("the right upload after a wrong start: %v, %v", got, err)
	}
	if _, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: 5, ContentType: casework.TypePDF, Data: data[:5]}); err == nil {
		t.Error("a file held whole was begun again under another size")
	}
}

// A file no case names goes a day after it came; one a filing names
// stays.
func TestUnnamedAttachmentsAreDropped(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	store := func(text string) string {
		data := append([]byte("%PDF-1.7\n"), text...)
		sum := sha256.Sum256(data)
		sha := hex.EncodeToString(sum[:])
		if got, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF, Data: data}); err != nil || !got.GetComplete() {
			t.Fatalf("store: %v %v", got, err)
		}
		return sha
	}
	named, abandoned := store("named"), store("abandoned")
	// A filing names the first.
	it, _ := o.reg.Item(licence, 0)
	number := casework.CaseNumber(o.code, o.now, 1)
	keyID, key, _ := o.reg.NewestQueryCodeKey()
	actor := clerk
	actor.Office = o.code
	e, err := casework.NewFiling(casework.FileInput{Number: number, QueryCode: "7KQ9M3XP2WHD", Item: it, Office: o.code,
		Applicant: &yizhanv1.Applicant{Name: "申请人", IdNumber: idNumber(1), Phone: "13907700001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: it.GetMaterials()[0].GetName(), Copies: 1, Files: []*yizhanv1.Attachment{
			{Sha256: named, Size: int64(len("%PDF-1.7\nnamed")), ContentType: casework.TypePDF, FileName: "a.pdf"}}}},
		Actor: actor, At: o.now, QueryCodeKeyID: keyID, QueryCodeKey: key}, o.reg)
	if err != nil {
		t.Fatal(err)
	}
	casework.Seal(e, casework.GenesisHash(number))
	if res := o.apply(Request{}, appendCmd(number, e)); res.Err != nil {
		t.Fatal(res.Err)
	}
	drop := func(at time.Time) int64 {
		o.index++
		res := o.book.Apply([]Entry{{Index: o.index, At: at.UnixNano(), Cmd: &peerv1.CaseCommand{Op: &peerv1.CaseCommand_DropUnnamedAttachments{
			DropUnnamedAttachments: &peerv1.DropUnnamedAttachments{OlderThanUnixNano: at.Add(-24 * time.Hour).UnixNano()}}}}}, o.index, o.reg)[0]
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		return res.Value.(*peerv1.AttachmentProgress).GetReceived()
	}
	if o.book.UnnamedAttachmentsBefore(o.now.Add(-time.Hour)) {
		t.Error("a file younger than the cutoff counts as due")
	}
	if n := drop(o.now.Add(time.Hour)); n != 0 {
		t.Errorf("within the day: %d dropped", n)
	}
	if !o.book.UnnamedAttachmentsBefore(o.now.Add(time.Hour)) {
		t.Error("the abandoned file is not due after a day")
	}
	if n := drop(o.now.Add(25 * time.Hour)); n != 1 {
		t.Errorf("after a day: %d dropped, want 1", n)
	}
	if held, _ := o.book.AttachmentHeld(abandoned); held != nil {
		t.Error("the abandoned file is still held")
	}
	if _, complete := o.book.AttachmentHeld(named); !complete {
		t.Error("the file a filing names was dropped")
	}
}

// A claim on a file held whole survives the book's reopening (its hash
// state is kept, so the office goes on from where it was), and one given
// up goes with the unnamed files a day on.
func TestAClaimOnAScanGoesOnAfterARestartAndIsDroppedWhenGivenUp(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	part := casework.AttachmentPartBytes
	data := bytes.Repeat([]byte("fedcba9876543210"), (2*part+100)/16)
	copy(data, "%PDF-1.7\n")
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	put := func(office string, offset int) *peerv1.AttachmentProgress {
		t.Helper()
		got, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF,
			Offset: int64(offset), Data: data[offset:min(offset+part, len(data))], UploaderOffice: office})
		if err != nil {
			t.Fatalf("%s's part at %d: %v", office, offset, err)
		}
		return got
	}
	for off := 0; off < len(data); off += part {
		put(village, off)
	}
	if !o.book.AttachmentUploadedBy(sha, village) {
		t.Fatal("setup: the village uploaded the file and is not its uploader")
	}
	if got := put(township, 0); got.GetComplete() || got.GetReceived() != int64(part) {
		t.Fatalf("the township's first part of its claim: %v", got)
	}
	o.reopen()
	if got := o.book.AttachmentClaim(sha, township); got != int64(part) {
		t.Fatalf("after reopening, the claim holds %d bytes, want %d", got, part)
	}
	for off := part; off < len(data); off += part {
		put(township, off)
	}
	if !o.book.AttachmentUploadedBy(sha, township) || o.book.AttachmentClaim(sha, township) != 0 {
		t.Fatalf("the township sent the whole file again: uploader %v, claim left %d", o.book.AttachmentUploadedBy(sha, township), o.book.AttachmentClaim(sha, township))
	}

	// A case names the file (as a filing's apply marks it), so only the
	// claim can go.
	if err := o.book.db.Update(func(txn *badger.Txn) error { return txn.Set(key(pAttachmentNamed, sha), nil) }); err != nil {
		t.Fatal(err)
	}
	put(county, 0) // a claim given up
	if o.book.AttachmentClaim(sha, county) == 0 {
		t.Fatal("setup: the county's claim is not held")
	}
	o.now = o.now.Add(25 * time.Hour)
	if !o.book.UnnamedAttachmentsBefore(o.now.Add(-24 * time.Hour)) {
		t.Fatal("a claim given up a day ago is not found by the sweep")
	}
	o.index++
	res := o.book.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(), Cmd: &peerv1.CaseCommand{Op: &peerv1.CaseCommand_DropUnnamedAttachments{
		DropUnnamedAttachments: &peerv1.DropUnnamedAttachments{OlderThanUnixNano: o.now.Add(-24 * time.Hour).UnixNano()}}}}}, o.index, o.reg)[0]
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if o.book.AttachmentClaim(sha, county) != 0 {
		t.Error("the claim given up a day ago is still held")
	}
	if _, complete := o.book.AttachmentHeld(sha); !complete || !o.book.AttachmentUploadedBy(sha, township) {
		t.Error("the file a case names went with the claim given up")
	}
}
