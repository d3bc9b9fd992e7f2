package mail

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/pki"
)

// fromNodeOf is a context of a call from a node of office, as the peer
// port sees it over mutual TLS (its certificate issued by ca, verified).
func fromNodeOf(t *testing.T, ca *pki.CA, office string) context.Context {
	t.Helper()
	certPEM, _, err := ca.Issue(pki.Identity{Office: office, Node: office + "-1"}, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return peer.NewContext(context.Background(), &peer.Peer{AuthInfo: credentials.TLSInfo{
		State: tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}}})
}

// A scan the village pushes up to its township counts against no
// office's quota of scans no case names at the township: the village's
// staff's quota bounded it at the village, and its case follows. A part
// of a push smaller than the smallest part, but for the file's last, is
// refused naming the field, and nothing of it is kept.
func TestAScanPushedFromBelowCountsAgainstNoQuota(t *testing.T) {
	ca := newCA(t)
	town := startOffice(t, ca, township, newRegistry(t, county, township, village), nil)
	ctx := fromNodeOf(t, ca, village)
	data := scanBytes(casework.AttachmentPartBytes+5000, 9)
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	push := func(off, n int) (*peerv1.AttachmentProgress, error) {
		return town.mail.ReceiveAttachment(ctx, &peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF,
			Offset: int64(off), Data: data[off:min(off+n, len(data))]})
	}

	if _, err := push(0, 1000); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a first part of 1,000 bytes of a file of %d: %v; want INVALID_ARGUMENT", len(data), err)
	}
	if held, _ := town.fsm.Cases().AttachmentHeld(sha); held != nil {
		t.Fatalf("the part refused is held: %d bytes", held.GetOffset())
	}
	if _, err := push(0, casework.AttachmentPartBytes); err != nil {
		t.Fatalf("the push's first part: %v", err)
	}
	if b, n := town.fsm.Cases().UnnamedBytes(village); b != 0 || n != 0 {
		t.Errorf("a push from the village counts %d bytes in %d files against the village at the township", b, n)
	}
	if got, err := push(casework.AttachmentPartBytes, casework.AttachmentPartBytes); err != nil || !got.GetComplete() {
		t.Fatalf("the push's last part (5,000 bytes): %v, %v", got, err)
	}
	if !town.fsm.Cases().AttachmentUploadedBy(sha, village) {
		t.Error("the village is not the pushed file's uploader at the township")
	}
	if b, n := town.fsm.Cases().UnnamedBytes(village); b != 0 || n != 0 {
		t.Errorf("the pushed file counts %d bytes in %d files against the village at the township", b, n)
	}
}
