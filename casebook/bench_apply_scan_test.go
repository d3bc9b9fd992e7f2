package casebook

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// BenchmarkApplyFilingNamingAScan is the case book's part of a filing
// that names one scan its office uploaded a moment before (the file's
// record and its part written by an earlier command), applied alone, as
// BenchmarkApplyFiling: what naming the scan costs the filing (the mark
// that a case names it, the file out of the office's quota and off the
// list of the scans no case names).
func BenchmarkApplyFilingNamingAScan(b *testing.B) {
	o := newOffice(b, county, newRegistry(b))
	o.step = 10 * time.Millisecond
	it, _ := o.reg.Item(licence, 0)
	keyID, qkey, _ := o.reg.NewestQueryCodeKey()
	actor := clerk
	actor.Office = o.code
	data := make([]byte, 4096)
	copy(data, "%PDF-1.7\n")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		binary.BigEndian.PutUint64(data[16:], uint64(i))
		sum := sha256.Sum256(data)
		sha := hex.EncodeToString(sum[:])
		if _, err := o.putPart(&peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF,
			Data: data, UploaderOffice: o.code}); err != nil {
			b.Fatal(err)
		}
		o.now = o.now.Add(o.step)
		number := o.nextNumber()
		e, err := casework.NewFiling(casework.FileInput{Number: number, QueryCode: "7KQ9M3XP2WHD", Item: it, Office: o.code,
			Applicant: &yizhanv1.Applicant{Name: "申请人", IdNumber: idNumber(1), Phone: "13907700001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: it.GetMaterials()[0].GetName(), Copies: 1, Files: []*yizhanv1.Attachment{
				{Sha256: sha, Size: int64(len(data)), ContentType: casework.TypePDF, FileName: "a.pdf"}}}},
			Actor: actor, At: o.now, QueryCodeKeyID: keyID, QueryCodeKey: qkey}, o.reg)
		if err != nil {
			b.Fatal(err)
		}
		casework.Seal(e, casework.GenesisHash(number))
		e.SignerChain = o.chain
		o.index++
		b.StartTimer()
		if res := o.book.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(), Cmd: appendCmd(number, e)}}, o.index, o.reg)[0]; res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	b.StopTimer()
	o.book.writeMu.Lock()
	o.book.settle()
	o.book.writeMu.Unlock()
}
