package casebook

import (
	"bytes"
	"sync"
	"testing"

	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// The counters and the days' sequences that Apply keeps in memory (the
// hot cache) follow a restore into the same book: filing after it counts
// from what was restored, not from what the book held before.
func TestHotKeysFollowARestore(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	o.file(licence, 1, Request{})
	var stream bytes.Buffer
	if _, err := o.book.Stream(&stream); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		o.file(licence, 2+i, Request{})
	}
	o.check()
	if err := o.book.Restore(&stream); err != nil {
		t.Fatal(err)
	}
	day := o.now.In(registry.CST).Format("20060102")
	if got := o.book.NextSeq(day); got != 2 {
		t.Fatalf("after the restore the day's next number is %d, want 2", got)
	}
	o.seqs[day] = 1
	o.index = o.book.Applied()
	o.mem = casework.NewBook(county) // the helper's second book answers the new filing alone
	o.file(licence, 7, Request{})
	o.check() // the counters equal a recount of the two cases held
	if got := o.book.NextSeq(day); got != 3 {
		t.Errorf("after filing again the day's next number is %d, want 3", got)
	}
	stats, err := o.book.Stats(StatsQuery{Period: PeriodOf(Day, o.now), Office: county, Outcome: supervision.Received})
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 1 || stats[0].Value != 2 {
		t.Errorf("the day's received counter: %+v, want one of 2", stats)
	}
}

// NextSeq, read by the leader's handlers while Apply writes, never
// answers a number the book already holds, and never goes back.
func TestNextSeqWhileFiling(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	day := o.now.In(registry.CST).Format("20060102")
	o.step = 0 // every filing on the same day
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		last := uint32(0)
		for {
			select {
			case <-stop:
				return
			default:
			}
			held := uint32(o.book.Len()) // read before: NextSeq sees at least these
			next := o.book.NextSeq(day)
			if next <= held || next < last {
				t.Errorf("NextSeq %d with %d cases held, after %d", next, held, last)
				return
			}
			last = next
		}
	}()
	for i := range 300 {
		o.file(licence, i, Request{})
	}
	close(stop)
	wg.Wait()
	if got := o.book.NextSeq(day); got != 301 {
		t.Errorf("NextSeq after 300 filings: %d, want 301", got)
	}
}
