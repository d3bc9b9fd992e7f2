package node_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/reason"
)

// A village's agent uploads scans and files none: past the office's
// quota of scans no case names (set small here), the next new file is
// refused (RESOURCE_EXHAUSTED, SCAN_QUOTA, naming the limit and what the
// office holds) and nothing of it is kept. A filing naming one of the
// scans makes room, and the same upload then goes through.
func TestAnUploadPastTheOfficesQuotaOfUnfiledScansIsRefused(t *testing.T) {
	const size = 300 << 10
	const quota = 5 * size / 2
	f := newTunedCaseFed(t, 1, func(name string, c *node.Config) {
		if name == "dongcun-1" {
			c.ScanQuota = quota
		}
	})
	village := f.nodes["dongcun-1"]
	agent := dial(t, village).login("dongcun", password)
	first := upload(t, agent, scan(size, 31), casework.TypePDF, "身份证.pdf")
	upload(t, agent, scan(size, 32), casework.TypePDF, "户口本.pdf")

	third := scan(size, 33)
	sum := sha256.Sum256(third)
	sha := hex.EncodeToString(sum[:])
	_, err := caseClient(t, agent).UploadAttachment(agent.ctx(), &yizhanv1.UploadAttachmentRequest{
		Sha256: sha, Size: size, ContentType: casework.TypePDF, Data: third})
	st, _ := status.FromError(err)
	meta := reason.Info(st).GetMetadata()
	if st.Code() != codes.ResourceExhausted || reason.Info(st).GetReason() != reason.ScanQuota ||
		meta["limitBytes"] != reason.Itoa(quota) || meta["heldBytes"] != reason.Itoa(2*size) ||
		!strings.Contains(st.Message(), "limit of 0.7 MiB") || !strings.Contains(st.Message(), "hold 0.6 MiB") {
		t.Fatalf("a third scan past the quota: %v (%v); want RESOURCE_EXHAUSTED, %s, naming the limit (%d bytes) and the 2 scans held", err, meta, reason.ScanQuota, quota)
	}
	if held, _ := village.Office().Cases().AttachmentHeld(sha); held != nil {
		t.Errorf("the refused scan is held: %d bytes", held.GetOffset())
	}

	if _, err := fileWithScan(t, agent, "覃海燕", first); err != nil {
		t.Fatalf("file with the first scan: %v", err)
	}
	upload(t, agent, third, casework.TypePDF, "营业执照.pdf")
}
