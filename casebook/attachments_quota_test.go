package casebook

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// The scans no case names count against the office whose part began
// them, at their whole size from the first part: until a case names
// them, their hash fails, or the day's sweep drops them. A file pushed up
// from the office below counts against no one: its staff's quota bounded
// it there.
func TestUnnamedScansCountAgainstTheOfficeThatBeganThem(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	file := func(text string, n int) (string, []byte) {
		data := append([]byte("%PDF-1.7\n"), text...)
		for len(data) < n {
			data = append(data, text...)
		}
		data = data[:n]
		sum := sha256.Sum256(data)
		return hex.EncodeToString(sum[:]), data
	}
	put := func(sha string, data []byte, offset, n int, office string) *peerv1.AttachmentProgress {
		t.Helper()
		got, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF,
			Offset: int64(offset), Data: data[offset:min(offset+n, len(data))], UploaderOffice: office})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := func(office string, bytes int64, files int) {
		t.Helper()
		if b, n := o.book.UnnamedBytes(office); b != bytes || n != files {
			t.Errorf("office %s holds %d bytes in %d files no case names, want %d in %d", office, b, n, bytes, files)
		}
	}
	named, namedData := file("named", 5000)
	put(named, namedData, 0, 2000, village)
	want(village, 5000, 1) // held in part: its whole size
	put(named, namedData, 2000, 3000, village)
	abandoned, abandonedData := file("abandoned", 3000)
	put(abandoned, abandonedData, 0, 3000, village)
	theirs, theirsData := file("the township's", 1000)
	put(theirs, theirsData, 0, 1000, township) // uploaded by the township's staff here
	pushed, pushedData := file("pushed", 4000)
	if _, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: pushed, Size: int64(len(pushedData)), ContentType: casework.TypePDF,
		Data: pushedData, UploaderOffice: township, Pushed: true}); err != nil { // as the mail takes a push from below
		t.Fatal(err)
	}
	if _, complete := o.book.AttachmentHeld(pushed); !complete {
		t.Fatal("the pushed file is not held")
	}
	want(village, 8000, 2)
	want(township, 1000, 1)

	// Bytes that do not hash to the name: nothing held, nothing counted.
	bad, badData := file("bad", 2000)
	put(bad, append(badData[:1999:1999], 'x'), 0, 2000, village)
	want(village, 8000, 2)

	// A filing names the first.
	it, _ := o.reg.Item(licence, 0)
	number := casework.CaseNumber(o.code, o.now, 1)
	keyID, key, _ := o.reg.NewestQueryCodeKey()
	actor := clerk
	actor.Office = o.code
	e, err := casework.NewFiling(casework.FileInput{Number: number, QueryCode: "7KQ9M3XP2WHD", Item: it, Office: o.code,
		Applicant: &yizhanv1.Applicant{Name: "申请人", IdNumber: idNumber(1), Phone: "13907700001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: it.GetMaterials()[0].GetName(), Copies: 1, Files: []*yizhanv1.Attachment{
			{Sha256: named, Size: int64(len(namedData)), ContentType: casework.TypePDF, FileName: "a.pdf"}}}},
		Actor: actor, At: o.now, QueryCodeKeyID: keyID, QueryCodeKey: key}, o.reg)
	if err != nil {
		t.Fatal(err)
	}
	casework.Seal(e, casework.GenesisHash(number))
	if res := o.apply(Request{}, appendCmd(number, e)); res.Err != nil {
		t.Fatal(res.Err)
	}
	want(village, 3000, 1)

	// A day on, the sweep drops what no case named.
	at := o.now.Add(25 * time.Hour)
	o.index++
	res := o.book.Apply([]Entry{{Index: o.index, At: at.UnixNano(), Cmd: &peerv1.CaseCommand{Op: &peerv1.CaseCommand_DropUnnamedAttachments{
		DropUnnamedAttachments: &peerv1.DropUnnamedAttachments{OlderThanUnixNano: at.Add(-24 * time.Hour).UnixNano()}}}}}, o.index, o.reg)[0]
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want(village, 0, 0)
	want(township, 0, 0)
}

// A re-send of a file held whole (a claim by another office, or a
// mending) counts against the office sending it, at the file's size,
// while it is under way: it ends, or is dropped a day on.
func TestAReSendUnderWayCountsAgainstItsOffice(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	part := casework.AttachmentPartBytes
	sha, data := scanOf(part+5000, 3)
	if got := o.sendScan(sha, data, part, village); !got.GetComplete() {
		t.Fatalf("the upload: %v", got)
	}
	o.markNamed(sha)
	if b, n := o.book.UnnamedBytes(township); b != 0 || n != 0 {
		t.Fatalf("before its claim, the township counts %d bytes in %d files", b, n)
	}
	if _, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF,
		Data: data[:part], UploaderOffice: township}); err != nil {
		t.Fatal(err)
	}
	if b, n := o.book.UnnamedBytes(township); b != int64(len(data)) || n != 1 {
		t.Errorf("with its claim under way, the township counts %d bytes in %d files; want %d in 1", b, n, len(data))
	}
	if got := o.sendScan(sha, data, part, township); !got.GetComplete() {
		t.Fatalf("the claim: %v", got)
	}
	if b, n := o.book.UnnamedBytes(township); b != 0 || n != 0 {
		t.Errorf("its claim ended, the township counts %d bytes in %d files", b, n)
	}
}
