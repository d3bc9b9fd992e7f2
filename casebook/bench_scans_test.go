package casebook

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
)

// benchScans is YIZHAN_BENCH_SCANS, or def.
func benchScans(b *testing.B, def int) int {
	if v := os.Getenv("YIZHAN_BENCH_SCANS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("YIZHAN_BENCH_SCANS=%q", v)
		}
		return n
	}
	return def
}

// BenchmarkScanSweep is the leader's sweep of the scans no case names
// (every minute, office.Service.SweepAttachments) at a county's book on
// the county's badger options holding YIZHAN_BENCH_SCANS scanned files
// (100,000; a county of a million cases holds a million or more: its
// own and its subtree's), every one named by a case, filed over the two
// years before, as the apply writes them (the file's record, its
// one part and the case's mark). "look" is the sweep's question asked
// while nothing is due (UnnamedAttachmentsBefore), the steady state; "drop" the
// command the sweep proposes when one upload was abandoned a day ago
// (DropUnnamedAttachments, applied on every node of the office, under
// the writers' lock: a filing waits for it); "list" the list of the
// files no case names made from every record, once, at the upgrade of a
// book of stats format 12 (indexUnnamed).
func BenchmarkScanSweep(b *testing.B) {
	n := benchScans(b, 100_000)
	db, err := badgerstore.OpenDB(b.TempDir(), badgerstore.DBOptions{County: true}) // as a county node opens it
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	o := &office{t: b, code: county, book: openBook(b, db, county), mem: casework.NewBook(county), reg: newRegistry(b),
		index: 100, seqs: map[string]uint32{}, now: t0, step: time.Minute, chain: signerChain(county)}
	began := time.Now()
	start := o.now.Add(-2 * 365 * 24 * time.Hour)
	wb := db.NewWriteBatch()
	part := make([]byte, 200) // the part's bytes do not matter here: the walk reads the records
	for i := range n {
		sum := sha256.Sum256([]byte(strconv.Itoa(i)))
		sha := hex.EncodeToString(sum[:])
		rec := &peerv1.PutAttachmentPart{Sha256: sha, Size: int64(len(part)), ContentType: casework.TypePDF, Offset: int64(len(part)),
			FirstAtUnixNano: start.Add(time.Duration(i) * (2 * 365 * 24 * time.Hour / time.Duration(n))).UnixNano()}
		v, err := proto.Marshal(rec)
		if err != nil {
			b.Fatal(err)
		}
		for _, kv := range [][2][]byte{{key(pAttachment, sha), v}, {key(pAttachmentPart, sha, be64(0)), part}, {key(pAttachmentNamed, sha), nil},
			{key(pAttachmentUploader, sha, village), nil}} {
			if err := wb.Set(kv[0], kv[1]); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := wb.Flush(); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d scans held, written in %s", n, time.Since(began).Round(time.Millisecond))
	b.Run("look", func(b *testing.B) {
		cutoff := o.now.Add(-24 * time.Hour)
		for b.Loop() {
			if o.book.UnnamedAttachmentsBefore(cutoff) {
				b.Fatal("a file is due")
			}
		}
	})
	b.Run("list", func(b *testing.B) { // once, at the upgrade to stats format 13
		for b.Loop() {
			if n, err := o.book.indexUnnamed(); err != nil || n != 0 {
				b.Fatalf("listed %d, %v", n, err)
			}
		}
	})
	b.Run("drop", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			sha, data := scanOf(2000, byte(i))
			data = append(data, fmt.Sprint(i)...)
			sum := sha256.Sum256(data)
			sha = hex.EncodeToString(sum[:])
			if got := o.sendScan(sha, data, len(data), village); !got.GetComplete() {
				b.Fatalf("the upload: %v", got)
			}
			o.now = o.now.Add(25 * time.Hour)
			cutoff := o.now.Add(-24 * time.Hour)
			if !o.book.UnnamedAttachmentsBefore(cutoff) {
				b.Fatal("the abandoned upload is not due")
			}
			b.StartTimer()
			o.index++
			res := o.book.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(), Cmd: &peerv1.CaseCommand{Op: &peerv1.CaseCommand_DropUnnamedAttachments{
				DropUnnamedAttachments: &peerv1.DropUnnamedAttachments{OlderThanUnixNano: cutoff.UnixNano()}}}}}, o.index, o.reg)[0]
			if res.Err != nil || res.Value.(*peerv1.AttachmentProgress).GetReceived() != 1 {
				b.Fatalf("the drop: %v, %v", res.Value, res.Err)
			}
		}
	})
}
