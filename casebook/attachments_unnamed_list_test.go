package casebook

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// fileNaming files a case at o that names the scan sha (held whole,
// uploaded by o's staff), and answers its number.
func (o *office) fileNaming(sha string, size int) string {
	o.t.Helper()
	it, _ := o.reg.Item(licence, 0)
	number := o.nextNumber()
	keyID, qkey, _ := o.reg.NewestQueryCodeKey()
	actor := clerk
	actor.Office = o.code
	e, err := casework.NewFiling(casework.FileInput{Number: number, QueryCode: "7KQ9M3XP2WHD", Item: it, Office: o.code,
		Applicant: &yizhanv1.Applicant{Name: "申请人", IdNumber: idNumber(1), Phone: "13907700001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: it.GetMaterials()[0].GetName(), Copies: 1, Files: []*yizhanv1.Attachment{
			{Sha256: sha, Size: int64(size), ContentType: casework.TypePDF, FileName: "a.pdf"}}}},
		Actor: actor, At: o.now, QueryCodeKeyID: keyID, QueryCodeKey: qkey}, o.reg)
	if err != nil {
		o.t.Fatal(err)
	}
	casework.Seal(e, casework.GenesisHash(number))
	if res := o.apply(Request{}, appendCmd(number, e)); res.Err != nil {
		o.t.Fatal(res.Err)
	}
	return number
}

// nextNumber is the next case number of o's day.
func (o *office) nextNumber() string {
	day := o.now.Format("20060102")
	o.seqs[day]++
	return casework.CaseNumber(o.code, o.now, o.seqs[day])
}

// unnamedListed is the scans the book lists as named by no case
// (book/ft/), by hash; and fails the test unless the list is what the
// records say (every file held whose hash no event names, with the time
// its first part came), entry for entry.
func (o *office) unnamedListed() []string {
	o.t.Helper()
	type entry struct {
		sha string
		at  int64
	}
	var listed, want []entry
	if err := o.book.db.View(func(txn *badger.Txn) error {
		if err := eachUnnamedListed(txn, func(sha string, at int64) bool {
			listed = append(listed, entry{sha, at})
			return true
		}); err != nil {
			return err
		}
		return eachKey(txn, []byte(pAttachment), func(k, v []byte) error {
			sha := string(k[len(pAttachment):])
			held := &peerv1.PutAttachmentPart{}
			if ok, err := getProto(txn, k, held); err != nil || !ok || hasKey(txn, key(pAttachmentNamed, sha)) {
				return err
			}
			want = append(want, entry{sha, held.GetFirstAtUnixNano()})
			return nil
		})
	}); err != nil {
		o.t.Fatal(err)
	}
	if !slices.Equal(listed, want) {
		o.t.Fatalf("the book lists %d scans no case names, its records %d:\n%v\n%v", len(listed), len(want), listed, want)
	}
	var shas []string
	for _, e := range listed {
		shas = append(shas, e.sha)
	}
	return shas
}

// The sweep reads the scans no case names from their own list, with when
// they came, not every scan the book holds: each file is on it from its
// first part until a case names it, its hash fails, or the sweep drops
// it, and a file begun again under another size is on it from the new
// first part. The sweep drops what came a day before, and nothing named.
func TestTheScansNoCaseNamesAreListedWithWhenTheyCame(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	o.step = time.Second
	named, namedData := scanOf(5000, 1)
	o.sendScan(named, namedData, 2000, county)
	abandoned, abandonedData := scanOf(3000, 2)
	o.sendScan(abandoned, abandonedData, 3000, county)
	pushed, pushedData := scanOf(4000, 3)
	if _, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: pushed, Size: int64(len(pushedData)), ContentType: casework.TypePDF,
		Data: pushedData, UploaderOffice: township, Pushed: true}); err != nil {
		t.Fatal(err)
	}
	bad, badData := scanOf(2000, 4)
	o.sendScan(bad, append(badData[:1999:1999], 'x'), 2000, county) // its hash fails: nothing held
	if got, want := o.unnamedListed(), sortedOf(named, abandoned, pushed); !slices.Equal(got, want) {
		t.Fatalf("listed %q, want %q", got, want)
	}

	// A file held in part and begun again under another size is listed
	// from its new first part.
	again, againData := scanOf(6000, 5)
	if _, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: again, Size: 6000, ContentType: casework.TypePDF,
		Data: againData[:3000], UploaderOffice: county}); err != nil { // held in part (3,000 of 6,000)
		t.Fatal(err)
	}
	if _, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: again, Size: 7000, ContentType: casework.TypePDF,
		Data: againData[:1000], UploaderOffice: county}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(o.unnamedListed(), again) {
		t.Fatal("the file begun again is not listed")
	}

	// A case names one: off the list; a case naming it again changes nothing.
	o.fileNaming(named, len(namedData))
	o.fileNaming(named, len(namedData))
	if got, want := o.unnamedListed(), sortedOf(abandoned, pushed, again); !slices.Equal(got, want) {
		t.Fatalf("listed %q, want %q", got, want)
	}
	cutoff := o.now.Add(-24 * time.Hour)
	if o.book.UnnamedAttachmentsBefore(cutoff) {
		t.Fatal("the sweep finds a file due before a day has passed")
	}

	// A day on, the sweep drops all three, and keeps the named one.
	later := o.now.Add(25 * time.Hour)
	if !o.book.UnnamedAttachmentsBefore(later.Add(-24 * time.Hour)) {
		t.Fatal("the sweep finds no file due a day on")
	}
	o.sweepScans(later, func() { o.unnamedListed() })
	if got := o.unnamedListed(); len(got) != 0 {
		t.Fatalf("left on the list after the sweep: %q", got)
	}
	if o.book.UnnamedAttachmentsBefore(later.Add(-24 * time.Hour)) {
		t.Fatal("the sweep still finds a file due")
	}
	if _, complete := o.book.AttachmentHeld(named); !complete {
		t.Fatal("the sweep dropped the scan a case names")
	}
	for _, sha := range []string{abandoned, pushed, again} {
		if _, complete := o.book.AttachmentHeld(sha); complete {
			t.Errorf("file %s is held after the sweep", sha)
		}
	}
	o.check()
}

// A sweep's command drops at most 100 files: those of lowest hash among
// the files due, as a release that walked every file held in the order
// of their hashes dropped them, so that the nodes of an office that runs
// both releases for a while drop the same files at the same command.
func TestASweepsCommandDropsTheFilesDueOfLowestHash(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	o.step = time.Second
	var due []string
	for i := range 130 {
		sha, data := scanOf(100+i, byte(i))
		o.sendScan(sha, data, len(data), county)
		due = append(due, sha)
	}
	slices.Sort(due)
	at := o.now.Add(25 * time.Hour)
	o.index++
	res := o.book.Apply([]Entry{{Index: o.index, At: at.UnixNano(), Cmd: &peerv1.CaseCommand{Op: &peerv1.CaseCommand_DropUnnamedAttachments{
		DropUnnamedAttachments: &peerv1.DropUnnamedAttachments{OlderThanUnixNano: at.Add(-24 * time.Hour).UnixNano()}}}}}, o.index, o.reg)[0]
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := res.Value.(*peerv1.AttachmentProgress).GetReceived(); got != maxDropFiles {
		t.Fatalf("the command dropped %d files, want %d", got, maxDropFiles)
	}
	if got := o.unnamedListed(); !slices.Equal(got, due[maxDropFiles:]) {
		t.Fatalf("left %d files, not the %d of highest hash", len(got), len(due)-maxDropFiles)
	}
}

// A book of the release before stats format 13, which kept no list of the
// scans no case names, lists them at its upgrade (with no counter counted
// again), and the sweep then drops them as it did.
func TestABookOfFormat12ListsItsUnnamedScansAtItsUpgrade(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	o.step = time.Second
	named, namedData := scanOf(5000, 1)
	o.sendScan(named, namedData, 5000, county)
	o.fileNaming(named, len(namedData))
	var abandoned []string
	for i := range 3 {
		sha, data := scanOf(1000+i, byte(10+i))
		o.sendScan(sha, data, len(data), county)
		abandoned = append(abandoned, sha)
	}
	slices.Sort(abandoned)
	if err := o.book.db.DropPrefix([]byte(pUnnamedFile)); err != nil {
		t.Fatal(err)
	}
	o.reopenAsStepsFormat(12)
	if got := o.unnamedListed(); !slices.Equal(got, abandoned) {
		t.Fatalf("listed at the upgrade %q, want %q", got, abandoned)
	}
	later := o.now.Add(25 * time.Hour)
	o.sweepScans(later, func() {})
	if got := o.unnamedListed(); len(got) != 0 {
		t.Fatalf("left on the list after the sweep: %q", got)
	}
	if _, complete := o.book.AttachmentHeld(named); !complete {
		t.Fatal("the sweep dropped the scan a case names")
	}
}

func sortedOf(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// Check finds a scan no case names missing from the sweep's list, and an
// entry of the list for a scan a case names.
func TestCheckFindsTheUnnamedScansListWrong(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	named, namedData := scanOf(5000, 1)
	o.sendScan(named, namedData, 5000, county)
	o.fileNaming(named, len(namedData))
	abandoned, abandonedData := scanOf(3000, 2)
	o.sendScan(abandoned, abandonedData, 3000, county)
	o.check()
	if err := o.book.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(unnamedKey(abandoned)); err != nil {
			return err
		}
		return txn.Set(unnamedKey(named), be64(1))
	}); err != nil {
		t.Fatal(err)
	}
	problems, err := o.book.Check(context.Background(), o.reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 2 || !strings.Contains(problems[0], named) || !strings.Contains(problems[0], "a case names it") ||
		!strings.Contains(problems[1], abandoned) || !strings.Contains(problems[1], "is not listed") {
		t.Fatalf("Check found %q", problems)
	}
}
