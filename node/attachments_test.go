package node_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/reason"
)

// scan is a file of size bytes whose content is a PDF's.
func scan(size int, seed uint64) []byte {
	b := make([]byte, size)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	copy(b, "%PDF-1.7\n")
	return b
}

// upload uploads a file through c's node a part at a time, as a client
// does, and returns its attachment.
func upload(t *testing.T, c *client, data []byte, contentType, name string) *yizhanv1.Attachment {
	t.Helper()
	sum := sha256.Sum256(data)
	a := &yizhanv1.Attachment{Sha256: hex.EncodeToString(sum[:]), Size: int64(len(data)), ContentType: contentType, FileName: name}
	req := &yizhanv1.UploadAttachmentRequest{Sha256: a.Sha256, Size: a.Size, ContentType: contentType}
	for range 100 {
		got, err := caseClient(t, c).UploadAttachment(c.ctx(), req)
		if err != nil {
			t.Fatalf("upload %s at %d: %v", name, req.Offset, err)
		}
		if got.GetComplete() {
			return a
		}
		end := min(got.GetReceived()+casework.AttachmentPartBytes, a.Size)
		req.Offset, req.Data = got.GetReceived(), data[got.GetReceived():end]
	}
	t.Fatal("the upload never completed")
	return nil
}

// A 5 MB scan filed at a village over a slow line, cut off halfway,
// arrives whole at the county, which the case needs to go on: its hash
// verifies and the county's clerk reads it back byte for byte; a citizen
// reads none of it. Meanwhile another case goes up without waiting. A file whose content is not what its type says, and
// a filing naming a file never uploaded, are refused naming the field.
func TestScanFiledAtAVillageArrivesWholeAtTheCounty(t *testing.T) {
	if testing.Short() {
		t.Skip("a slow line: not in -short")
	}
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)

	jpeg := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 1000)...)
	sum := sha256.Sum256(jpeg)
	_, err := caseClient(t, agent).UploadAttachment(agent.ctx(), &yizhanv1.UploadAttachmentRequest{
		Sha256: hex.EncodeToString(sum[:]), Size: int64(len(jpeg)), ContentType: casework.TypePDF, Data: jpeg})
	if code, field := fieldOf(err); code != codes.InvalidArgument || field != "data" || fieldReason(err) != reason.AttachmentType {
		t.Errorf("a JPEG uploaded as a PDF: %v (field %q)", err, field)
	}
	never := scan(2000, 9)
	nsum := sha256.Sum256(never)
	_, err = caseClient(t, agent).FileCase(agent.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "覃海燕", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1, Files: []*yizhanv1.Attachment{
			{Sha256: hex.EncodeToString(nsum[:]), Size: 2000, ContentType: casework.TypePDF, FileName: "申请表.pdf"}}}}})
	if code, field := fieldOf(err); code != codes.InvalidArgument || field != "materials[0].files[0].sha256" || fieldReason(err) != reason.AttachmentMissing {
		t.Errorf("a filing naming a file never uploaded: %v (field %q)", err, field)
	}

	data := scan(5<<20, 1)
	a := upload(t, agent, data, casework.TypePDF, "申请表扫描件.pdf")
	f.links["dongcun-1"].Throttle(512 << 10) // about 4 Mbit/s up to the township
	resp, err := caseClient(t, agent).FileCase(agent.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "覃海燕", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1, Files: []*yizhanv1.Attachment{a}}}})
	if err != nil {
		t.Fatalf("file with the scan: %v", err)
	}
	number := resp.GetCase().GetNumber()

	// Halfway up to the township the line goes down; when it is back the
	// push goes on from what the township holds.
	town, countyNode := f.nodes["chengguan-1"], f.nodes["county-1"]
	var halfway int64
	waitFor(t, "part of the scan at the township", func() bool {
		held, _ := town.Office().Cases().AttachmentHeld(a.Sha256)
		halfway = held.GetOffset()
		return halfway > 0 && halfway < a.Size
	}, 30*time.Second)
	// The scan holds back nothing but its own case: a case filed now
	// goes up meanwhile.
	plain := fileTobacco(t, agent, "韦明").GetNumber()
	waitFor(t, "a case without scans through the township", func() bool { _, ok := town.Office().Cases().Case(plain); return ok }, 20*time.Second)
	if _, complete := town.Office().Cases().AttachmentHeld(a.Sha256); complete {
		t.Log("the scan arrived before the plain case: the line was faster than planned")
	}
	f.links["dongcun-1"].Cut()
	if _, complete := town.Office().Cases().AttachmentHeld(a.Sha256); !complete {
		if _, ok := town.Office().Cases().Case(number); ok {
			t.Fatal("the case went up before its scan")
		}
	}
	time.Sleep(500 * time.Millisecond)
	f.links["dongcun-1"].Restore()
	waitFor(t, "the case at the county", func() bool { return received(countyNode, number) }, 60*time.Second)
	if held, complete := countyNode.Office().Cases().AttachmentHeld(a.Sha256); !complete || held.GetSize() != a.Size {
		t.Fatalf("the county holds %v of the scan", held)
	}

	clerk := dial(t, countyNode).login("clerk", password)
	var got []byte
	for int64(len(got)) < a.Size {
		part, err := caseClient(t, clerk).GetAttachment(clerk.ctx(), &yizhanv1.GetAttachmentRequest{Number: number, Sha256: a.Sha256, Offset: int64(len(got))})
		if err != nil {
			t.Fatalf("the county clerk reads the scan at %d: %v", len(got), err)
		}
		if len(part.GetData()) == 0 {
			t.Fatalf("an empty part at %d of %d", len(got), a.Size)
		}
		got = append(got, part.GetData()...)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("the scan read at the county is not the one filed")
	}
	for _, off := range []int64{-1, a.Size + 1} {
		_, err := caseClient(t, clerk).GetAttachment(clerk.ctx(), &yizhanv1.GetAttachmentRequest{Number: number, Sha256: a.Sha256, Offset: off})
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != "offset" {
			t.Errorf("a part at %d of %d bytes: %v", off, a.Size, err)
		}
	}
	c, _ := countyNode.Office().Cases().Case(number)
	if files := c.GetMaterials()[0].GetFiles(); len(files) != 1 || files[0].GetSha256() != a.Sha256 {
		t.Errorf("the county's case names the files %v", files)
	}
	if err := casework.VerifyChain(number, countyNode.Office().Cases().Events(number)); err != nil {
		t.Errorf("the chain with the scan's hash: %v", err)
	}
	// Seen in this case, the scan is not the county's to name in another:
	// a filing names only what its own office uploaded.
	_, err = caseClient(t, clerk).FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "韦明", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1, Files: []*yizhanv1.Attachment{a}}}})
	if code, field := fieldOf(err); code != codes.InvalidArgument || field != "materials[0].files[0].sha256" {
		t.Errorf("the county named the village's scan in its own filing: %v", err)
	}
	// At the county, the scans are for the staff of the item's
	// departments: a clerk of 民政局 may not read the tobacco licence's.
	ctx := f.admin.ctx()
	if _, err := f.admin.reg.CreateDepartment(ctx, &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "mz", Name: "县民政局"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "mz-clerk", Name: "李民政",
		OfficeCode: county, DepartmentCode: "mz", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}, Password: password}); err != nil {
		t.Fatal(err)
	}
	other := dial(t, countyNode).login("mz-clerk", password)
	if _, err := caseClient(t, other).GetAttachment(other.ctx(), &yizhanv1.GetAttachmentRequest{Number: number, Sha256: a.Sha256}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a clerk of another department reads the scan: %v", err)
	}
	// Nor does she learn its hash, which would let her name the scan in a
	// filing of her own department and read it there: her copy of the
	// case and of its log lists the file, without it.
	theirs, err := caseClient(t, other).GetCase(other.ctx(), &yizhanv1.GetCaseRequest{Number: number})
	if err != nil {
		t.Fatal(err)
	}
	events, err := caseClient(t, other).ListCaseEvents(other.ctx(), &yizhanv1.ListCaseEventsRequest{Number: number})
	if err != nil {
		t.Fatal(err)
	}
	for what, m := range map[string]proto.Message{"the case": theirs, "its log": events} {
		if b, _ := protojson.Marshal(m); strings.Contains(string(b), a.Sha256) {
			t.Errorf("%s, as another department's clerk reads it, holds the scan's hash", what)
		}
	}
	if files := casework.Attachments(events.GetEvents()); len(files) != 1 || files[0].GetSize() != a.Size || files[0].GetFileName() != "" {
		t.Errorf("the scan, as another department's clerk sees it: %v (its size and type, not its name)", files)
	}
	mine, err := caseClient(t, clerk).GetCase(clerk.ctx(), &yizhanv1.GetCaseRequest{Number: number})
	if b, _ := protojson.Marshal(mine); err != nil || !strings.Contains(string(b), a.Sha256) {
		t.Errorf("the scan's hash, as its department's clerk reads the case: %v", err)
	}
	citizen := dial(t, countyNode)
	if _, err := caseClient(t, citizen).GetAttachment(citizen.ctx(), &yizhanv1.GetAttachmentRequest{Number: number, Sha256: a.Sha256}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("a citizen reads a scan: %v", err)
	}
}

// fieldReason is the reason of the first field an InvalidArgument names.
func fieldReason(err error) string {
	st, _ := status.FromError(err)
	return reason.Info(st).GetMetadata()["fieldReason"]
}
