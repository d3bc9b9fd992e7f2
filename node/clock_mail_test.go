package node_test

import (
	"sync/atomic"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/feed"
	"github.com/yizhan-gov/yizhan/node"
)

// A village whose clock is two days ahead refuses its staff (CLOCK_OFF);
// its mail applied what came all the same, with commands stamped by that
// clock, and the office's memory of request IDs, which goes by the
// commands' times, forgot the filing made just before: once the clock was
// set right, the agent's retry of that filing (its answer lost) filed a
// second case. The mail waits too now: what the county sends meanwhile
// (its acceptance) arrives once the clock is right, and the retry is
// answered as the first.
func TestAVillageWhoseClockIsOffLetsItsMailWait(t *testing.T) {
	var skew atomic.Int64
	f := newTunedCaseFed(t, 1, func(name string, c *node.Config) {
		if name == "dongcun-1" {
			// A clock set, not time gone by: the node notices at once,
			// by a clock no setting moves (the boot clock, in a node).
			c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
			c.ClockElapsed = func(time.Time) time.Duration { return feed.ClockReading(time.Now()) }
		}
	})
	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]
	agent := dial(t, village).login("dongcun", password)
	file := func() (*yizhanv1.Case, error) {
		c, _, err := fileTobaccoOnce(t, agent, "filing-1")
		return c, err
	}
	first, err := file()
	if err != nil {
		t.Fatal(err)
	}
	number := first.GetNumber()
	waitFor(t, "the county receives the case", func() bool { return received(countyNode, number) }, 20*time.Second)

	skew.Store(int64(48 * time.Hour))
	waitFor(t, "the village's clock measured two days ahead", func() bool {
		off, ok := village.Office().ClockOffset()
		return ok && off < -47*time.Hour
	}, 10*time.Second)
	if _, err := file(); err == nil {
		t.Fatal("the village, two days ahead, took a write")
	}
	clerk := dial(t, countyNode).login("clerk", password)
	if _, err := caseClient(t, clerk).Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number}); err != nil {
		t.Fatalf("accept: %v", err)
	}
	time.Sleep(2 * time.Second)
	if c, _ := village.Office().Cases().Case(number); c.GetState() == yizhanv1.CaseState_CASE_STATE_ACCEPTED {
		t.Error("the village, two days ahead, applied the county's acceptance")
	}

	skew.Store(0)
	waitFor(t, "the village's clock measured right again", func() bool {
		off, ok := village.Office().ClockOffset()
		return ok && off.Abs() < time.Minute
	}, 10*time.Second)
	waitFor(t, "the village hears the case accepted", func() bool {
		c, ok := village.Office().Cases().Case(number)
		return ok && c.GetState() == yizhanv1.CaseState_CASE_STATE_ACCEPTED
	}, 30*time.Second)
	again, err := file()
	if err != nil {
		t.Fatalf("the retry: %v", err)
	}
	if again.GetNumber() != number {
		t.Errorf("the filing retried under its request ID filed a second case %s (the first was %s): the office forgot the request", again.GetNumber(), number)
	}
}
