package node_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/reason"
)

// A village's scan goes bad on its disk after the upload, and the agent
// files a case naming it as the filing page does: the filing first,
// naming the scan; the scans uploaded, and the filing sent again, only
// when it is refused ATTACHMENT_MISSING. The filing is refused so, on
// the scan's field, saying the copy is damaged; the scan handed in again
// mends the copy, and the case is filed.
func TestAFilingNamingADamagedScanIsMendedByHandingItInAgain(t *testing.T) {
	f := newTunedCaseFed(t, 1, nil)
	village := f.nodes["dongcun-1"]
	agent := dial(t, village).login("dongcun", password)
	part := casework.AttachmentPartBytes
	data := scan(3*part/2, 41)
	a := upload(t, agent, data, casework.TypePDF, "身份证.pdf")
	if err := village.Office().Cases().Sync(); err != nil {
		t.Fatal(err)
	}
	damageOnDisk(t, filepath.Join(f.cfgs["dongcun-1"].DataDir, "badger"), data[part+100:part+164])

	_, err := fileWithScan(t, agent, "覃海燕", a)
	if code, field := fieldOf(err); code != codes.InvalidArgument || field != "materials[0].files[0].sha256" ||
		!reason.OnlyFieldReason(err, reason.AttachmentMissing) || !strings.Contains(violation(err), "damaged") {
		t.Fatalf("a filing naming the damaged scan: %v; want ATTACHMENT_MISSING on materials[0].files[0].sha256, saying the copy is damaged", err)
	}
	upload(t, agent, data, casework.TypePDF, "身份证.pdf")
	c, err := fileWithScan(t, agent, "覃海燕", a)
	if err != nil {
		t.Fatalf("the filing once the scan was handed in again: %v", err)
	}
	if err := village.Office().Cases().CheckAttachment(a.Sha256); err != nil {
		t.Errorf("the scan handed in again: its copy checks %v", err)
	}
	got, err := caseClient(t, agent).GetAttachment(agent.ctx(), &yizhanv1.GetAttachmentRequest{Number: c.GetNumber(), Sha256: a.Sha256})
	if err != nil || !bytes.Equal(got.GetData(), data[:part]) {
		t.Errorf("the case's scan reads %d bytes, %v", len(got.GetData()), err)
	}
}

// violation is the description of err's first field violation.
func violation(err error) string {
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return br.GetFieldViolations()[0].GetDescription()
		}
	}
	return ""
}

// A part of a scan smaller than the smallest part (32 KiB), but for the
// file's last, is refused naming the field (TOO_SHORT on data), and
// nothing of it is kept; the file uploaded in parts of the smallest size,
// its last part short, is held whole.
func TestAScanPartSmallerThanTheSmallestIsRefused(t *testing.T) {
	f := newTunedCaseFed(t, 1, nil)
	village := f.nodes["dongcun-1"]
	agent := dial(t, village).login("dongcun", password)
	data := scan(3*casework.MinAttachmentPartBytes+1000, 42)
	sum := sha256.Sum256(data)
	a := &yizhanv1.Attachment{Sha256: hex.EncodeToString(sum[:]), Size: int64(len(data)), ContentType: casework.TypePDF}
	req := &yizhanv1.UploadAttachmentRequest{Sha256: a.Sha256, Size: a.Size, ContentType: a.ContentType, Data: data[:1000]}
	_, err := caseClient(t, agent).UploadAttachment(agent.ctx(), req)
	if code, field := fieldOf(err); code != codes.InvalidArgument || field != "data" || !reason.OnlyFieldReason(err, reason.TooShort) {
		t.Errorf("a first part of 1,000 bytes: %v; want TOO_SHORT on data", err)
	}
	if held, _ := village.Office().Cases().AttachmentHeld(a.Sha256); held != nil {
		t.Errorf("the part refused is held: %d bytes", held.GetOffset())
	}
	for off := 0; off < len(data); off += casework.MinAttachmentPartBytes {
		req.Offset, req.Data = int64(off), data[off:min(off+casework.MinAttachmentPartBytes, len(data))]
		if _, err := caseClient(t, agent).UploadAttachment(agent.ctx(), req); err != nil {
			t.Fatalf("the part at %d: %v", off, err)
		}
	}
	if _, complete := village.Office().Cases().AttachmentHeld(a.Sha256); !complete {
		t.Error("the file sent in parts of the smallest size is not held whole")
	}
}
