package node_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// fileWithScan files a tobacco licence case for applicant name naming
// scan a.
func fileWithScan(t *testing.T, c *client, name string, a *yizhanv1.Attachment) (*yizhanv1.Case, error) {
	t.Helper()
	resp, err := caseClient(t, c).FileCase(c.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: name, IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1, Files: []*yizhanv1.Attachment{a}}}})
	return resp.GetCase(), err
}

// A filing names only scans its own office uploaded, not one it saw in
// another case: a village's ID scan, mirrored to the county, is not the
// county clerk's to put into another applicant's case by its hash. An
// upload call carrying no bytes, or other bytes of the same length,
// claims nothing; the county's staff who hold the paper and upload it
// again, all of it, may name it.
func TestAScanIsClaimedOnlyByItsBytes(t *testing.T) {
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	countyNode := f.nodes["county-1"]
	data := scan(3*casework.AttachmentPartBytes/2, 5)
	a := upload(t, agent, data, casework.TypePDF, "覃海燕身份证.pdf")
	c, err := fileWithScan(t, agent, "覃海燕", a)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the case at the county", func() bool { return received(countyNode, c.GetNumber()) }, 30*time.Second)

	clerk := dial(t, countyNode).login("clerk", password)
	refused := func(how string) {
		t.Helper()
		_, err := fileWithScan(t, clerk, "韦明", a)
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != "materials[0].files[0].sha256" {
			t.Errorf("%s: the county filed another applicant's case naming the village's scan: %v (%v, %q)", how, err, code, field)
		}
	}
	refused("without an upload")
	got, err := caseClient(t, clerk).UploadAttachment(clerk.ctx(), &yizhanv1.UploadAttachmentRequest{Sha256: a.Sha256, Size: a.Size, ContentType: a.ContentType})
	if err != nil || got.GetComplete() || got.GetReceived() != 0 {
		t.Errorf("an upload of no bytes of a file held whole answered %v, %v; want nothing received, not complete", got, err)
	}
	refused("after an upload of no bytes")

	forged := scan(len(data), 6) // other bytes, the same length and type
	req := &yizhanv1.UploadAttachmentRequest{Sha256: a.Sha256, Size: a.Size, ContentType: a.ContentType}
	for off := 0; off < len(forged); off += casework.AttachmentPartBytes {
		req.Offset, req.Data = int64(off), forged[off:min(off+casework.AttachmentPartBytes, len(forged))]
		got, err = caseClient(t, clerk).UploadAttachment(clerk.ctx(), req)
	}
	if got.GetComplete() || status.Code(err) != codes.InvalidArgument {
		t.Errorf("other bytes sent under the scan's hash: %v, %v; want the hash refused", got, err)
	}
	refused("after other bytes sent under its hash")

	upload(t, clerk, data, casework.TypePDF, "韦明身份证.pdf") // the paper in hand, scanned again
	if _, err := fileWithScan(t, clerk, "韦明", a); err != nil {
		t.Errorf("the county uploaded the scan whole and still may not name it: %v", err)
	}
}

// Scans are uploaded by those who file and take materials (an agent, a
// clerk, the comprehensive window), not by every account of the office:
// an approver's upload is refused, naming the roles, and nothing is kept.
func TestOnlyThoseWhoTakeMaterialsUploadScans(t *testing.T) {
	f := newCaseFed(t, 1)
	approver := dial(t, f.nodes["county-1"]).login("approver", password)
	data := scan(2000, 9)
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	_, err := caseClient(t, approver).UploadAttachment(approver.ctx(), &yizhanv1.UploadAttachmentRequest{
		Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF, Data: data})
	if status.Code(err) != codes.PermissionDenied || reasonOf(err) != "WRONG_ROLE" {
		t.Errorf("an approver's upload: %v, want PermissionDenied WRONG_ROLE", err)
	}
	if held, _ := f.nodes["county-1"].Office().Cases().AttachmentHeld(sha); held != nil {
		t.Errorf("the refused upload is kept: %v", held)
	}
	clerk := dial(t, f.nodes["county-1"]).login("clerk", password)
	upload(t, clerk, data, casework.TypePDF, "申请书.pdf")
}
