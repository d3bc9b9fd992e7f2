package node_test

import (
	"context"
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// A scan the township holds in part under another size (an upload begun
// there with its size mistyped, or a stranger's, to block the file) does
// not keep the village's copy from going up: the push starts the file
// over at the township, and the case follows it the same minute, not a
// day later, once the township's sweep has dropped the part.
func TestAScanHeldInPartUnderAnotherSizeAboveGoesUpAndItsCaseFollows(t *testing.T) {
	f := newCaseFed(t, 1)
	village, town := f.nodes["dongcun-1"], f.nodes["chengguan-1"]
	agent := dial(t, village).login("dongcun", password)
	data := scan(100<<10, 91)
	a := upload(t, agent, data, casework.TypePDF, "身份证正反面.pdf")
	if _, err := town.Office().ProposeCase(context.Background(), &peerv1.CaseCommand{AtUnixNano: time.Now().UnixNano(),
		Op: &peerv1.CaseCommand_PutAttachmentPart{PutAttachmentPart: &peerv1.PutAttachmentPart{Sha256: a.Sha256, Size: a.Size + 100<<10,
			ContentType: casework.TypePDF, Data: data[:64<<10], UploaderOffice: town.Office().Code()}}}); err != nil {
		t.Fatal(err)
	}
	c, err := fileWithScan(t, agent, "覃海燕", a)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the case at the township", func() bool { _, ok := town.Office().Cases().Case(c.GetNumber()); return ok }, 20*time.Second)
	if held, complete := town.Office().Cases().AttachmentHeld(a.Sha256); !complete || held.GetSize() != a.Size {
		t.Errorf("the township holds %d bytes of a file of %d (whole: %v), not the scan's %d", held.GetOffset(), held.GetSize(), complete, a.Size)
	}
	for _, q := range village.Office().Cases().Quarantined() {
		t.Errorf("the village set %s aside: %s", q.GetEntry().GetCaseNumber(), q.GetReason())
	}
}
