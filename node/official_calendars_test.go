package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/registry"
)

// A county that runs a release whose official calendars (the State
// Council's holidays compiled in) differ from those in force puts its
// release's in force: down the tree, every office's registry judges by
// them, at one point of each office's log. Here the data in force lacks
// 2027 (as a release before the 2027 data left it); the county's leader,
// started again, puts this release's in force and the village has it.
func TestTheCountyPutsItsReleasesOfficialCalendarsInForce(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.countyLeader()).login("admin", password)
	f.startTree(admin)
	var older []string
	for line := range strings.Lines(registry.OfficialData()) {
		if !strings.HasPrefix(line, "2027 ") {
			older = append(older, line)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := node.ProposeRegistryForTest(ctx, f.countyLeader(), &peerv1.RegistryCommand{AtUnixNano: time.Now().UnixNano(), Actor: "node:county-1",
		Op: &peerv1.RegistryCommand_PutOfficialCalendars{PutOfficialCalendars: &peerv1.PutOfficialCalendars{Data: strings.Join(older, "")}}})
	if err != nil {
		t.Fatal(err)
	}
	village := f.nodes["dongcun-1"]
	springFestival := time.Date(2027, 2, 8, 12, 0, 0, 0, registry.CST)
	waitFor(t, "the village judging by data without 2027", func() bool { return village.Registry().IsWorkingDay(springFestival) }, 20*time.Second)

	f.stop("county-1")
	f.restart("county-1")
	waitFor(t, "the village judging by this release's data", func() bool {
		return village.Registry().OfficialInForce() == registry.OfficialData() && !village.Registry().IsWorkingDay(springFestival)
	}, 30*time.Second)
}
