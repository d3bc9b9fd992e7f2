package casebook

import (
	"errors"
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// A restored office asks each neighbour for the cases through it changed
// since its backup: every such case comes, over pages of any size, each
// once, with its whole log; no case of another subtree or older comes.
func TestCasesThroughPagesTheSubtreesCasesChangedSince(t *testing.T) {
	reg := newRegistry(t)
	v := newOffice(t, village, reg)
	var numbers []string
	for i := range 40 {
		numbers = append(numbers, v.fileAs(villageAgent, service, 100+i, Request{}))
	}
	since := v.now.Add(-15 * v.step) // the last 15 filings changed at or after it
	want := map[string]bool{}
	for _, n := range numbers[25:] {
		want[n] = true
	}
	for _, office := range []string{village, township, county} {
		got := map[string]bool{}
		token, pages := "", 0
		for {
			msgs, next, err := v.book.CasesThrough(office, since, token, 4, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, m := range msgs {
				if got[m.GetCaseNumber()] {
					t.Errorf("%s: %s came twice", office, m.GetCaseNumber())
				}
				got[m.GetCaseNumber()] = true
				if m.GetFromOffice() != village || len(m.GetEvents()) == 0 || m.GetEvents()[0].GetSeq() != 1 {
					t.Errorf("%s: message %s from %s with %d events", office, m.GetCaseNumber(), m.GetFromOffice(), len(m.GetEvents()))
				}
			}
			if token = next; token == "" || pages > 100 {
				break
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d cases in %d pages, want the %d changed since", office, len(got), pages, len(want))
		}
		for n := range want {
			if !got[n] {
				t.Errorf("%s: %s missing", office, n)
			}
		}
	}
	if msgs, _, err := v.book.CasesThrough("450122101204", time.Time{}, "", 10, 1<<20); err != nil || len(msgs) != 0 {
		t.Errorf("another village's cases: %d, %v; want none", len(msgs), err)
	}
	var ve *registry.ValidationError
	if _, _, err := v.book.CasesThrough(village, since, "bm90LWEta2V5", 10, 1<<20); !errors.As(err, &ve) || ve.Violations[0].Field != "page_token" {
		t.Errorf("a token of another list: %v, want an error naming page_token", err)
	}
	if _, _, err := v.book.CasesThrough("4501", since, "", 10, 1<<20); !errors.As(err, &ve) || ve.Violations[0].Field != "office_code" {
		t.Errorf("a bad office code: %v, want an error naming office_code", err)
	}
}

// A restored book numbers its cases above the floor from the backup's day
// until its recovery is finished, and on those days only after that.
func TestRestoredBookNumbersAboveItsFloor(t *testing.T) {
	reg := newRegistry(t)
	v := newOffice(t, village, reg)
	for i := range 3 {
		v.fileAs(villageAgent, service, i, Request{})
	}
	day := func(d int) string { return t0.AddDate(0, 0, d).Format("20060102") }
	if got := v.book.NextSeq(day(0)); got != 4 {
		t.Fatalf("before the restore: next %d, want 4", got)
	}
	if err := v.book.MarkRestored(t0.Add(time.Hour), v.index); err != nil {
		t.Fatal(err)
	}
	if at, ok := v.book.Restored(); !ok || !at.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Restored() = %v, %v", at, ok)
	}
	floor := uint32(3 + RestoredSeqGap + 1)
	for d, want := range map[int]uint32{-1: 1, 0: floor, 1: floor, 30: floor} {
		if got := v.book.NextSeq(day(d)); got != want {
			t.Errorf("while restored, day %s: next %d, want %d", day(d), got, want)
		}
		if got := openBook(t, v.book.db, village).NextSeq(day(d)); got != want {
			t.Errorf("while restored, opened again, day %s: next %d, want %d", day(d), got, want)
		}
	}
	finish := func(day string) Result {
		v.index++
		return v.book.Apply([]Entry{{Index: v.index, At: v.now.UnixNano(), Cmd: &peerv1.CaseCommand{
			Op: &peerv1.CaseCommand_FinishRecovery{FinishRecovery: &peerv1.FinishRecovery{ThroughDay: day}}}}}, v.index, v.reg)[0]
	}
	res := finish("2026-03-03")
	var ve *registry.ValidationError
	if !errors.As(res.Err, &ve) || ve.Violations[0].Field != "through_day" {
		t.Errorf("a bad day: %v, want an error naming through_day", res.Err)
	}
	if res := finish(day(1)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if _, ok := v.book.Restored(); ok {
		t.Error("still marked restored after FinishRecovery")
	}
	for d, want := range map[int]uint32{-1: 1, 0: floor, 1: floor, 2: 1} {
		if got := v.book.NextSeq(day(d)); got != want {
			t.Errorf("after the recovery, day %s: next %d, want %d", day(d), got, want)
		}
		if got := openBook(t, v.book.db, village).NextSeq(day(d)); got != want {
			t.Errorf("after the recovery, opened again, day %s: next %d, want %d", day(d), got, want)
		}
	}
	// Applied again (a retry), it changes nothing.
	if res := finish(day(5)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := v.book.NextSeq(day(3)); got != 1 {
		t.Errorf("a second FinishRecovery moved the floor: day %s next %d", day(3), got)
	}
	v.check()
}
