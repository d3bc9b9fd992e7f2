package mail

import (
	"context"
	"errors"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/duty"
)

// BenchmarkOutboxBacklog measures how long a village's node takes to
// send its township a large backlog (YIZHAN_BENCH_BACKLOG zero reports,
// default 20,000, queued while the township took nothing), from the
// township's first receipt until the village's outbox is empty, and the
// time the village's sender spent choosing what to send (sendDue).
//
//	go test -run '^$' -bench BenchmarkOutboxBacklog -benchtime 1x -timeout 30m ./federation/mail/
func BenchmarkOutboxBacklog(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("YIZHAN_BENCH_BACKLOG")); err == nil && v > 0 {
		n = v
	}
	for b.Loop() {
		drain := outboxBacklog(b, n)
		b.ReportMetric(drain.Seconds(), "drain-s")
		b.ReportMetric(float64(n)/drain.Seconds(), "cases/s")
	}
}

// outboxBacklog queues n zero reports at a village while its township
// takes nothing, then lets the township take them, and returns how long
// the village took to send them all from the first the township took.
func outboxBacklog(t testing.TB, n int) time.Duration {
	t.Helper()
	ca := newCA(t)
	town := startOffice(t, ca, township, newRegistry(t, county, township, village), nil)
	var closed atomic.Bool
	closed.Store(true)
	var firstTaken atomic.Int64
	town.owner.refuse = func(cmd *peerv1.CaseCommand) error {
		if cmd.GetReceive() == nil {
			return nil
		}
		if closed.Load() {
			return errors.New("the township takes nothing yet")
		}
		firstTaken.CompareAndSwap(0, time.Now().UnixNano())
		return nil
	}
	vil := startOffice(t, ca, village, newRegistry(t, county, township, village), func(c *Config) {
		c.Routes.PeerRoutes[township] = []string{town.addr}
	})
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				day := vil.day.AddDate(0, 0, int(i)).Format("20060102")
				z := &yizhanv1.ZeroReport{Id: duty.ZeroReportID(village, day), OfficeCode: village, Day: day[:4] + "-" + day[4:6] + "-" + day[6:],
					By: "duty", ByName: "值班员", Note: "无情况"}
				if _, err := vil.owner.ProposeCase(context.Background(), &peerv1.CaseCommand{AtUnixNano: time.Now().UnixNano(),
					Op: &peerv1.CaseCommand_PutZeroReport{PutZeroReport: &peerv1.PutZeroReport{Report: z}}}); err != nil {
					t.Errorf("keep zero report %s: %v", z.GetId(), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := vil.fsm.Cases().OutboxLen(); got != n {
		t.Fatalf("premise: the village's outbox holds %d messages, want %d", got, n)
	}
	if path := os.Getenv("YIZHAN_BENCH_DRAIN_PROFILE"); path != "" {
		// The drain's CPU profile alone, not the queueing's.
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	closed.Store(false)
	waitFor(t, "the village's outbox empty", func() bool { return vil.fsm.Cases().OutboxLen() == 0 }, 30*time.Minute)
	return time.Since(time.Unix(0, firstTaken.Load()))
}

// Urgent reports and the flags of unsigned ones are read from where
// their numbers begin: every one begins with one of urgentPrefixes, and
// nothing else taken for one does.
func TestUrgentRecordsAreReadFromWhereTheirNumbersBegin(t *testing.T) {
	report := duty.ReportID(village, time.Now(), "ABCDEF")
	for _, id := range []string{report, duty.UnsignedFlagID(report)} {
		if !isUrgentRecord(id) || !slices.ContainsFunc(urgentPrefixes, func(p string) bool { return strings.HasPrefix(id, p) }) {
			t.Errorf("urgent record %s: urgent %v, read from %v", id, isUrgentRecord(id), urgentPrefixes)
		}
	}
	if !slices.IsSorted(urgentPrefixes) {
		t.Errorf("urgentPrefixes %v are not in the order of the outbox's keys", urgentPrefixes)
	}
}
