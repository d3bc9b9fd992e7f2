package casebook

import (
	"testing"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// A village's scan no case names yet, sent again by the village to mend
// it (its re-send keeps its parts aside), counts once against the
// village's quota while the re-send is under way, and once after it.
func TestAnOfficesOwnScanSentAgainCountsOnce(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	part := casework.AttachmentPartBytes
	sha, data := scanOf(part+5000, 7)
	if got := o.sendScan(sha, data, part, village); !got.GetComplete() {
		t.Fatalf("the upload: %v", got)
	}
	want := func(when string) {
		t.Helper()
		if b, n := o.book.UnnamedBytes(village); b != int64(len(data)) || n != 1 {
			t.Errorf("%s: the village counts %d bytes in %d files, want %d in 1", when, b, n, len(data))
		}
		if office, size, ok := o.book.UnnamedFile(sha); !ok || office != village || size != int64(len(data)) {
			t.Errorf("%s: the file counts %d bytes against %q (%v), want %d against the village", when, size, office, ok, len(data))
		}
	}
	want("uploaded")
	if _, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF,
		Data: data[:part], UploaderOffice: village}); err != nil {
		t.Fatal(err)
	}
	if sent := o.book.AttachmentClaim(sha, village); sent != int64(part) {
		t.Fatalf("the village's re-send holds %d bytes, want %d", sent, part)
	}
	want("sent again, under way")
	if got := o.sendScanFrom(sha, data, part, part, village); !got.GetComplete() {
		t.Fatalf("the re-send's end: %v", got)
	}
	want("sent again")
}

// sendScanFrom sends data from offset from as sendScan does.
func (o *office) sendScanFrom(sha string, data []byte, from, partBytes int, office string) *peerv1.AttachmentProgress {
	o.t.Helper()
	var got *peerv1.AttachmentProgress
	for off := from; off < len(data); off += partBytes {
		var err error
		got, err = o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF,
			Offset: int64(off), Data: data[off:min(off+partBytes, len(data))], UploaderOffice: office})
		if err != nil {
			o.t.Fatalf("%s's part at %d: %v", office, off, err)
		}
	}
	return got
}
