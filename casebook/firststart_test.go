package casebook

import (
	"runtime"
	"sync"
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
)

// answerFirstStart applies AnswerFirstStart as o's next raft entry.
func (o *office) answerFirstStart(ranBefore bool) Result {
	o.t.Helper()
	o.index++
	return o.book.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(), Cmd: &peerv1.CaseCommand{
		Op: &peerv1.CaseCommand_AnswerFirstStart{AnswerFirstStart: &peerv1.AnswerFirstStart{RanBefore: ranBefore}}}}}, o.index, o.reg)[0]
}

// A book started on an empty data directory numbers nothing until its
// office knows whether it ran before: the mark stays through a reopen and
// a snapshot, and goes with the answer. A new office then numbers from 1;
// one that ran before, above RestoredSeqGap, marked restored from nothing
// as --rebuild marks it. The answer, applied again, changes nothing.
func TestFirstStartIsMarkedUntilAnswered(t *testing.T) {
	reg := newRegistry(t)
	today := t0.Format("20060102")
	for _, tc := range []struct {
		name      string
		ranBefore bool
		next      uint32
	}{
		{"a new office", false, 1},
		{"an office that ran before", true, RestoredSeqGap + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newOffice(t, village, reg)
			if _, pending := v.book.FirstStart(); pending {
				t.Fatal("a new book is pending before it is marked")
			}
			if err := v.book.MarkFirstStart(t0); err != nil {
				t.Fatal(err)
			}
			if err := v.book.MarkFirstStart(t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			for what, b := range map[string]*Book{"the book": v.book, "opened again": openBook(t, v.book.db, village), "from a snapshot": v.restoredCopy().book} {
				if since, pending := b.FirstStart(); !pending || !since.Equal(t0) {
					t.Errorf("%s: FirstStart() = %v, %v; want pending since the first mark, %v", what, since, pending, t0)
				}
			}
			if res := v.answerFirstStart(tc.ranBefore); res.Err != nil {
				t.Fatal(res.Err)
			}
			for what, b := range map[string]*Book{"the book": v.book, "opened again": openBook(t, v.book.db, village)} {
				if _, pending := b.FirstStart(); pending {
					t.Errorf("%s: still pending after the answer", what)
				}
				if got := b.NextSeq(today); got != tc.next {
					t.Errorf("%s: next number %d, want %d", what, got, tc.next)
				}
				if since, restored := b.Restored(); restored != tc.ranBefore || restored && !since.Equal(RebuiltSince) {
					t.Errorf("%s: Restored() = %v, %v; want %v (from %v)", what, since, restored, tc.ranBefore, RebuiltSince)
				}
			}
			if res := v.answerFirstStart(tc.ranBefore); res.Err != nil {
				t.Fatal(res.Err)
			}
			if got := v.book.NextSeq(today); got != tc.next {
				t.Errorf("after the answer applied twice: next number %d, want %d", got, tc.next)
			}
			if err := v.book.MarkFirstStart(t0); err == nil {
				t.Error("a book that applied entries was marked again")
			}
			v.check()
		})
	}
}

// A node that joined the office after its answer replays the answer from
// the log without the mark, which was written outside it: its book ends
// as the first node's, restored from nothing when the office ran before.
func TestFirstStartAnswerReplayedWithoutTheMark(t *testing.T) {
	for _, ranBefore := range []bool{false, true} {
		v := newOffice(t, village, newRegistry(t))
		if res := v.answerFirstStart(ranBefore); res.Err != nil {
			t.Fatal(res.Err)
		}
		if since, restored := v.book.Restored(); restored != ranBefore || restored && !since.Equal(RebuiltSince) {
			t.Errorf("ran before %v: Restored() = %v, %v", ranBefore, since, restored)
		}
		if got, want := v.book.NextSeq(t0.Format("20060102")), map[bool]uint32{false: 1, true: RestoredSeqGap + 1}[ranBefore]; got != want {
			t.Errorf("ran before %v: next number %d, want %d", ranBefore, got, want)
		}
	}
}

// A book restored from a backup knows its office ran before: the restore
// drops a first-start mark the backup held.
func TestRestoredBookIsNoFirstStart(t *testing.T) {
	v := newOffice(t, village, newRegistry(t))
	if err := v.book.MarkFirstStart(t0); err != nil {
		t.Fatal(err)
	}
	if err := v.book.MarkRestored(t0, v.index); err != nil {
		t.Fatal(err)
	}
	for what, b := range map[string]*Book{"the book": v.book, "opened again": openBook(t, v.book.db, village)} {
		if _, pending := b.FirstStart(); pending {
			t.Errorf("%s: a restored book is still pending", what)
		}
	}
}

// A filing on the leader asks the book whether its office knows it ran
// before (FirstStart, without a lock), then numbers the case (NextSeq).
// While the answer "it ran before" is applied, the filing never sees the
// office answered with the next number still 1, the number its parent
// holds for another citizen: it sees it pending, or numbered above
// RestoredSeqGap.
func TestAnsweredRanBeforeNeverNumbersFromOne(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two threads to watch the answer being applied")
	}
	reg := newRegistry(t)
	today := t0.Format("20060102")
	for trial := range 300 {
		v := newOffice(t, village, reg)
		if err := v.book.MarkFirstStart(t0); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		ready := make(chan struct{})
		var got uint32
		wg.Add(1)
		go func() { // a filing on the leader: CanNumber, then NextSeq
			defer wg.Done()
			close(ready)
			for {
				if _, pending := v.book.FirstStart(); !pending {
					got = v.book.NextSeq(today)
					return
				}
			}
		}()
		<-ready
		if res := v.answerFirstStart(true); res.Err != nil {
			t.Fatal(res.Err)
		}
		wg.Wait()
		if got <= RestoredSeqGap {
			t.Fatalf("trial %d: the book said the office was answered (it ran before) while NextSeq was %d; want above %d", trial, got, RestoredSeqGap)
		}
	}
}
