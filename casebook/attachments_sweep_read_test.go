package casebook

import (
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/casework"
)

// A scan no case names, dropped by the day's sweep while it is being
// read (a correction's files relayed to the office that holds the case,
// a download), is missing for the read: never a damaged copy, logged at
// error and counted, which pages the operator.
func TestAScanDroppedByTheSweepWhileItIsReadIsMissingNotDamaged(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	logged := &errorCount{}
	o.book.SetLogger(slog.New(logged))
	part := casework.AttachmentPartBytes
	sha, data := scanOf(4*part+1000, 3)
	stop := make(chan struct{})
	var reads, found, missing atomic.Int64
	done := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			for off := 0; off < len(data); off += part {
				got, err := o.book.ReadAttachment(sha, int64(off), part)
				reads.Add(1)
				if errors.Is(err, ErrAttachmentDamaged) {
					done <- err
					return
				}
				if err != nil {
					missing.Add(1)
					break
				}
				found.Add(1)
				if string(got) != string(data[off:min(off+part, len(data))]) {
					done <- errors.New("a read handed over other bytes than the file's")
					return
				}
			}
		}
	}()
	at := o.now
	for i := range 100 {
		o.sendScan(sha, data, part, village)
		o.sweepScans(at.Add(25*time.Hour), func() {})
		if i%20 == 0 {
			select {
			case err := <-done:
				t.Fatalf("after %d reads (%d found, %d missing): %v", reads.Load(), found.Load(), missing.Load(), err)
			default:
			}
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("after %d reads (%d found, %d missing): %v", reads.Load(), found.Load(), missing.Load(), err)
	}
	if n := logged.n.Load(); n != 0 {
		t.Errorf("%d records logged at error", n)
	}
	if n := o.book.DamagedAttachments(); n != 0 {
		t.Errorf("%d files counted damaged", n)
	}
	t.Logf("%d reads: %d found, %d missing", reads.Load(), found.Load(), missing.Load())
}
