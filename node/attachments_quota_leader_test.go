package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/reason"
)

// countyLeader starts a county of one node and waits until it leads.
func countyLeader(t *testing.T) *Node {
	t.Helper()
	const county = "450122000000"
	ca := pki.NewTestCA(t)
	n, err := New(Config{
		Office: county, Name: "county-1", DataDir: t.TempDir(),
		HTTPAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0", RaftAddr: "127.0.0.1:0",
		TLS:       pki.NewTestBundle(t, ca, pki.Identity{Office: county, Node: "county-1"}),
		Bootstrap: true, BootstrapAdminPassword: "correct-horse",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), SmallBadger: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	for deadline := time.Now().Add(30 * time.Second); !n.Ready() || n.svc.Leading() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the county did not get ready")
		}
	}
	return n
}

// scanFile is a PDF's bytes, n of them, and their SHA-256.
func scanFile(n int, seed uint64) (string, []byte) {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	copy(b, "%PDF-1.7\n")
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), b
}

// An office's staff upload new scans with calls that give up within a
// few milliseconds (a short deadline, a cut connection), while the
// office's log is busy: each caller is answered when its deadline
// passes, and what the quota let through is applied all the same, but
// the next upload's check waits for it, so the office holds no more
// than its quota of scans no case names.
func TestTheScanQuotaHoldsWhenCallersGiveUp(t *testing.T) {
	n := countyLeader(t)
	const size = 300 << 10
	const quota = 2*size + size/2
	n.svc.SetScanQuota(quota)
	office := "450122101203"
	// Other parts applied meanwhile (uploads without an uploader office,
	// which no quota holds): the office's log is busy, as an office's is.
	var load sync.WaitGroup
	for i := range 24 {
		sha, data := scanFile(500<<10, uint64(900+i))
		load.Add(1)
		go func() {
			defer load.Done()
			n.svc.PutAttachmentPart(context.Background(), &peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)),
				ContentType: casework.TypePDF, Data: data})
		}()
	}
	time.Sleep(time.Millisecond)
	for i := range 8 {
		sha, data := scanFile(size, uint64(100+i))
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+i%3)*time.Millisecond)
		start := time.Now()
		_, err := n.svc.PutAttachmentPart(ctx, &peerv1.PutAttachmentPart{Sha256: sha, Size: size, ContentType: casework.TypePDF,
			Data: data, UploaderOffice: office})
		cancel()
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("file %d: a caller whose deadline passed was answered after %v", i, took)
		}
		if e := reason.Of(err); err != nil && !errors.Is(err, context.DeadlineExceeded) && (e == nil || e.Reason != reason.ScanQuota) {
			t.Fatalf("file %d: %v", i, err)
		}
	}
	load.Wait()
	// What the quota let through is applied by now, or soon.
	time.Sleep(500 * time.Millisecond)
	if held, files := n.office.Cases().UnnamedBytes(office); held > quota {
		t.Errorf("office %s holds %d bytes in %d files no case names, past its quota of %d", office, held, files, quota)
	}
}

// A claim (the township's clerk uploading a scan the village pushed up,
// as a correction does) counts against the quota of the office claiming,
// at the file's size, from its first part: past the quota, the claim's
// first part is refused, and nothing of it is kept.
func TestAClaimCountsAgainstTheQuotaOfTheOfficeClaiming(t *testing.T) {
	n := countyLeader(t)
	const size = 600 << 10
	part := casework.AttachmentPartBytes
	below, claimer := "450122101203", "450122101000"
	put := func(office string, sha string, data []byte, off int) (*peerv1.AttachmentProgress, error) {
		return n.svc.PutAttachmentPart(context.Background(), &peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)),
			ContentType: casework.TypePDF, Offset: int64(off), Data: data[off:min(off+part, len(data))], UploaderOffice: office})
	}
	var shas []string
	var files [][]byte
	for i := range 3 {
		sha, data := scanFile(size, uint64(300+i))
		for off := 0; off < size; off += part {
			if _, err := put(below, sha, data, off); err != nil {
				t.Fatal(err)
			}
		}
		shas, files = append(shas, sha), append(files, data)
	}
	n.svc.SetScanQuota(size + size/2)
	if _, err := put(claimer, shas[0], files[0], 0); err != nil {
		t.Fatalf("the first claim's first part: %v", err)
	}
	if held, claims := n.office.Cases().UnnamedBytes(claimer); held != size || claims != 1 {
		t.Errorf("with a claim under way, office %s counts %d bytes in %d files, want %d in 1", claimer, held, claims, size)
	}
	_, err := put(claimer, shas[1], files[1], 0)
	if e := reason.Of(err); e == nil || e.Reason != reason.ScanQuota {
		t.Errorf("a second claim's first part past the quota: %v; want %s", err, reason.ScanQuota)
	}
	if sent := n.office.Cases().AttachmentClaim(shas[1], claimer); sent != 0 {
		t.Errorf("the claim refused holds %d bytes sent", sent)
	}
	// The first claim ends: the quota has room again.
	for off := part; off < size; off += part {
		if _, err := put(claimer, shas[0], files[0], off); err != nil {
			t.Fatal(err)
		}
	}
	if !n.office.Cases().AttachmentUploadedBy(shas[0], claimer) {
		t.Fatal("the first claim did not end")
	}
	if _, err := put(claimer, shas[1], files[1], 0); err != nil {
		t.Errorf("a claim's first part once the first claim ended: %v", err)
	}
}
