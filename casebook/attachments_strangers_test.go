package casebook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// A stranger who knows only a scan's hash (seen in a case read before
// the file came here whole) starts it under another size, with bytes of
// its own. The real file then comes (an upload, or a push from below):
// its first part starts the file over, dropping the stranger's parts.
// Once the real file is whole, the stranger's office is not its uploader
// and may not name it in a filing: it never had its bytes.
func TestAStrangerWhoStartedAFileOverIsNotItsUploader(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	data := bytes.Repeat([]byte("0123456789abcdef"), 4000)
	copy(data, "%PDF-1.7\n")
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])

	junk := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{'x'}, 100)...)
	got, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)) + 1, ContentType: casework.TypePDF,
		Data: junk, UploaderOffice: township})
	if err != nil || got.GetReceived() != int64(len(junk)) {
		t.Fatalf("setup: the stranger's first part: %v, %v", got, err)
	}
	got, err = o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF,
		Data: data, UploaderOffice: village})
	if err != nil || !got.GetComplete() {
		t.Fatalf("setup: the real file in one part: %v, %v", got, err)
	}
	if o.book.AttachmentUploadedBy(sha, township) {
		t.Errorf("office %s is an uploader of %s, having sent none of its bytes (only a start under another size)", township, sha[:12])
	}
}

// A stranger who knows only a scan's hash sends a "file" of its own bytes
// under that name, in one part: the hash fails and nothing is kept, no
// uploader either. When the real file comes later, the stranger's office
// is not its uploader.
func TestAFailedHashLeavesNoUploaderBehind(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	data := bytes.Repeat([]byte("0123456789abcdef"), 4000)
	copy(data, "%PDF-1.7\n")
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])

	junk := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{'x'}, 100)...)
	got, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(junk)), ContentType: casework.TypePDF,
		Data: junk, UploaderOffice: township})
	if err != nil || got.GetReceived() != 0 || got.GetComplete() {
		t.Fatalf("setup: the stranger's file that does not hash to its name: %v, %v", got, err)
	}
	if o.book.AttachmentUploadedBy(sha, township) {
		t.Errorf("after its file failed the hash, office %s is still an uploader of %s", township, sha[:12])
	}
	got, err = o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF,
		Data: data, UploaderOffice: village})
	if err != nil || !got.GetComplete() {
		t.Fatalf("setup: the real file: %v, %v", got, err)
	}
	if o.book.AttachmentUploadedBy(sha, township) {
		t.Errorf("the real file is whole and office %s, which never sent a byte of it, is its uploader", township)
	}
}
