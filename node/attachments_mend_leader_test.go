package node_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/node"
)

// The county's copy of a scan goes bad on the disk of the node that
// leads, and the clerk hands it in again, which mends it; halfway, another
// node comes to lead, whose copy is sound. The new leader takes the rest
// of the re-send: the copy of the node that led is mended, and no re-send
// is left under way (it would count against the county's quota for a
// day).
func TestAMendingBegunUnderOneLeaderEndsUnderTheNext(t *testing.T) {
	f := newTunedCaseFed(t, 3, nil)
	old := f.countyLeader()
	clerk := dial(t, old).login("clerk", password)
	part := casework.AttachmentPartBytes
	data := scan(3*part/2, 91)
	a := upload(t, clerk, data, casework.TypePDF, "营业执照.pdf")
	for _, name := range []string{"county-1", "county-2", "county-3"} {
		waitFor(t, name+" holds the scan", func() bool { _, c := f.nodes[name].Office().Cases().AttachmentHeld(a.Sha256); return c }, 20*time.Second)
	}
	var got *yizhanv1.UploadAttachmentResponse
	var err error
	// The copy of the node that leads goes bad, and the first part is
	// handed in there. A leader that lost its lease on a busy machine
	// before it passes the part on to the next, whose copy is sound
	// (complete at once): the next one's copy is damaged then, and the
	// part handed in again.
	damaged := map[string]bool{}
	for attempt := 1; ; attempt++ {
		old = f.countyLeader()
		clerk = dial(t, old).login("clerk", password)
		if err := old.Office().Cases().Sync(); err != nil {
			t.Fatal(err)
		}
		if !damaged[old.Name()] {
			damageOnDisk(t, filepath.Join(f.cfgs[old.Name()].DataDir, "badger"), data[part+100:part+164])
			damaged[old.Name()] = true
		}
		if err := old.Office().Cases().CheckAttachment(a.Sha256); !errors.Is(err, casebook.ErrAttachmentDamaged) {
			t.Fatalf("the leader's copy checks %v, want damaged", err)
		}
		got, err = caseClient(t, clerk).UploadAttachment(clerk.ctx(), &yizhanv1.UploadAttachmentRequest{Sha256: a.Sha256, Size: a.Size,
			ContentType: a.ContentType, Data: data[:part]})
		if err == nil && got.GetReceived() == int64(part) && !got.GetComplete() {
			break
		}
		if attempt == 3 || old.Office().Group().IsLeader() {
			t.Fatalf("the mending's first part at the leader %s: %v, %v", old.Name(), got, err)
		}
		t.Logf("the mending's first part: %v, %v: %s no longer leads; again at the next", got, err, old.Name())
	}
	if err := old.Office().Group().TransferLeadership(); err != nil {
		t.Fatalf("leadership transfer: %v", err)
	}
	var now *node.Node
	waitFor(t, "another county leader", func() bool {
		now = f.countyLeader()
		return now != old && !old.Office().Group().IsLeader()
	}, 20*time.Second)
	clerk = dial(t, now).login("clerk", password)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got, err = caseClient(t, clerk).UploadAttachment(clerk.ctx(), &yizhanv1.UploadAttachmentRequest{Sha256: a.Sha256, Size: a.Size,
			ContentType: a.ContentType, Offset: int64(part), Data: data[part:]})
		if status.Code(err) != codes.Unavailable || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("the mending's last part at the new leader: %v, %v", got, err)
	waitFor(t, "the old leader applies what the new one did", func() bool {
		return old.Office().Cases().Applied() >= now.Office().Cases().Applied()
	}, 20*time.Second)
	if err := old.Office().Cases().CheckAttachment(a.Sha256); err != nil {
		t.Errorf("the copy of the node that led when the scan was handed in again checks %v", err)
	}
	if sent := now.Office().Cases().AttachmentClaim(a.Sha256, county); sent != 0 {
		t.Errorf("a re-send of %d bytes is left under way", sent)
	}
}
