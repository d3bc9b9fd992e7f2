package node_test

import (
	"context"
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/registry"
)

// A county node of an older release (its data lacks the next year's
// holidays) started while a later release's data is in force — a
// rolling upgrade, a node rebooted on its old binary, a rollback of one
// node — leaves the later data in force: it proposed whenever its data
// differed, older or newer, and put the older back (every office judging
// its cases again, backwards). Here the running binary plays the older
// release: the data in force is this binary's plus 2098 (a holiday on
// Friday 3 January 2098: a year no release's data reaches).
func TestAnOlderCountyNodeDoesNotTakeTheNewerDataBack(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	newer := registry.OfficialData() + "2098 0103h\n"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := node.ProposeRegistryForTest(ctx, f.countyLeader(), &peerv1.RegistryCommand{AtUnixNano: time.Now().UnixNano(), Actor: "node:county-2",
		Op: &peerv1.RegistryCommand_PutOfficialCalendars{PutOfficialCalendars: &peerv1.PutOfficialCalendars{Data: newer}}}); err != nil {
		t.Fatal(err)
	}
	friday := time.Date(2098, 1, 3, 12, 0, 0, 0, registry.CST)
	waitFor(t, "the county judging by the newer data", func() bool { return !f.nodes["county-1"].Registry().IsWorkingDay(friday) }, 10*time.Second)

	f.stop("county-1")
	n := f.restart("county-1")
	waitFor(t, "county-1 ready", n.Ready, 20*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got := n.Registry().OfficialInForce(); got != newer {
			t.Fatalf("a county node of an older release put its release's data back in force (%d bytes, newer: %d): 3 January 2098 a working day again: %v",
				len(got), len(newer), n.Registry().IsWorkingDay(friday))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
