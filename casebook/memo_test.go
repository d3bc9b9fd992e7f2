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

// A request ID the book remembers is found whatever happened to the book
// since (the filter of request IDs, memo.go): a retry in the same batch
// as its first application, a retry after the book is opened again, a
// lookup in a book restored from a stream.
func TestRequestIDsFoundAfterReopenAndRestore(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	first := Request{ID: "file-1", Hash: []byte("filing one")}
	o.file(licence, 1, first)
	firstAt := o.index

	// The same request twice in one batch: the second answers the first.
	twice := Request{ID: "file-2", Hash: []byte("filing two")}
	number, cmd := o.filing(clerk, licence, 2)
	o.index += 2
	res := o.book.Apply([]Entry{
		{Index: o.index - 1, At: o.now.UnixNano(), Request: twice, Cmd: cmd},
		{Index: o.index, At: o.now.UnixNano(), Request: twice, Cmd: cmd},
	}, o.index, reg)
	if res[0].Err != nil || res[1].Err != nil || res[1].Index != o.index-1 {
		t.Fatalf("the same request twice in a batch: %+v; want the second answered by the first", res)
	}
	o.mem.Apply(cmd, reg) // the helper's second book files it once too
	if got := len(o.book.Events(number)); got != 1 {
		t.Errorf("case %s has %d events, want 1", number, got)
	}

	// Opened again, the book still knows the first request.
	reopened := openBook(t, o.book.db, county)
	if _, at, ok, err := reopened.Answered(first); !ok || err != nil || at != firstAt {
		t.Errorf("reopened, Answered: %d %v %v; want the index %d", at, ok, err, firstAt)
	}
	_, cmd1 := o.filing(clerk, licence, 3)
	retry := reopened.Apply([]Entry{{Index: o.index + 1, At: o.now.UnixNano(), Request: first, Cmd: cmd1}}, o.index+1, reg)[0]
	if retry.Err != nil || retry.Index != firstAt {
		t.Errorf("reopened, a retry: %v at %d; want the first answer at %d", retry.Err, retry.Index, firstAt)
	}
	if reopened.Len() != 2 {
		t.Errorf("reopened, %d cases after the retry, want 2", reopened.Len())
	}

	// A book restored from a stream of it knows both requests.
	o.book = reopened
	o.index++
	restored := o.restoredCopy()
	for _, r := range []Request{first, twice} {
		if _, _, ok, err := restored.book.Answered(r); !ok || err != nil {
			t.Errorf("restored, Answered(%s): %v %v", r.ID, ok, err)
		}
	}
	restored.check()
}
