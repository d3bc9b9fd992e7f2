package node_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/node"
)

// The mail's automatic steps (forward, receive, close) take the office's
// clock, as the writes of its staff do. They took the machine's: with
// the offices' clock two days ahead, a case filed at a village was
// forwarded, received by the township and by the county two days before
// it was filed, and its history ran backwards.
func TestTheAutomaticStepsOfACaseTakeTheOfficesClock(t *testing.T) {
	const ahead = 48 * time.Hour
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.Now = func() time.Time { return time.Now().Add(ahead) }
	})
	countyNode := f.nodes["county-1"]
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	number := fileTobacco(t, agent, "张三").GetNumber()
	waitFor(t, "the county receives the case", func() bool { return received(countyNode, number) }, 20*time.Second)

	events := countyNode.Office().Cases().Events(number)
	filed := events[0].GetAt().AsTime()
	automatic := 0
	for i, e := range events {
		if i > 0 && e.GetAt().AsTime().Before(events[i-1].GetAt().AsTime()) {
			t.Errorf("event %d (%s by %s at %s) is before event %d (%s at %s)", e.GetSeq(), e.GetType(), e.GetOfficeCode(),
				e.GetAt().AsTime().Format(time.RFC3339), events[i-1].GetSeq(), events[i-1].GetType(), events[i-1].GetAt().AsTime().Format(time.RFC3339))
		}
		if e.GetActor() == casework.SystemActor {
			automatic++
			if e.GetAt().AsTime().Before(filed) {
				t.Errorf("the automatic %s by %s is at %s, before the filing at %s: it took the machine's clock, not the office's",
					e.GetType(), e.GetOfficeCode(), e.GetAt().AsTime().Format(time.RFC3339), filed.Format(time.RFC3339))
			}
		}
	}
	if automatic < 3 {
		t.Errorf("the county's log of case %s holds %d automatic events, want the village's forward, the township's receipt and forward, the county's receipt", number, automatic)
	}
}

// The mail's receipts are commands of the office too, and the office's
// memory of requests goes by their times: a receipt stamped by the
// machine's clock, two days ahead of the office's, made the village
// forget at once the filing whose case the township had just taken,
// and the agent's retry of it, its answer lost, filed a second case.
func TestAFilingRetriedAfterItsCaseWasReceiptedIsFiledOnce(t *testing.T) {
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.Now = func() time.Time { return time.Now().Add(-48 * time.Hour) }
	})
	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]
	agent := dial(t, village).login("dongcun", password)
	file := func() (*yizhanv1.Case, metadata.MD) {
		t.Helper()
		c, header, err := fileTobaccoOnce(t, agent, "filing-1")
		if err != nil {
			t.Fatalf("file: %v", err)
		}
		return c, header
	}
	first, _ := file()
	waitFor(t, "the county receives the case", func() bool { return received(countyNode, first.GetNumber()) }, 20*time.Second)
	waitFor(t, "the village's mail receipted", func() bool { return len(village.Office().Cases().Outbox()) == 0 }, 20*time.Second)

	again, header := file()
	if again.GetNumber() != first.GetNumber() {
		t.Errorf("the filing retried under its request ID filed case %s; the first filed %s", again.GetNumber(), first.GetNumber())
	}
	if got := header.Get("x-yizhan-replayed"); len(got) != 1 || got[0] != "true" {
		t.Errorf("the retry's answer: x-yizhan-replayed %v, want true", got)
	}
}
