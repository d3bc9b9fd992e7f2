package node_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A citizen complains at the village the moment their case is filed,
// while it is handed on up the tree: for a moment no office answers for
// it (the village's copy names the township, which has not received it;
// the county, asked, holds no copy; or the village's receipt came back
// between its check and the complaint). The complaint is taken, each
// time, once (they heard "no case with this number and query code", or
// "held by another office"); a wrong code is still refused at once; and
// a case handed on to an office that cannot be reached is answered
// Unavailable, on its way, never NotFound.
func TestACitizenActsWhileTheCaseIsHandedOn(t *testing.T) {
	f := newCaseFed(t, 1)
	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]
	agent := dial(t, village).login("dongcun", password)
	citizen := dial(t, village)
	var numbers []string
	for i := range 5 {
		filed := fileTobacco(t, agent, "韦丽")
		if _, err := caseClient(t, citizen).Complain(citizen.ctx(), &yizhanv1.CaseActionRequest{Number: filed.GetNumber(),
			QueryCode: filed.GetQueryCode(), Reason: "代办员态度生硬"}); err != nil {
			t.Errorf("case %d: a complaint the moment it was filed: %v", i, err)
		}
		numbers = append(numbers, filed.GetNumber())
		if i == 0 {
			wrong := filed.GetQueryCode()[:len(filed.GetQueryCode())-1] + "0"
			if wrong == filed.GetQueryCode() {
				wrong = filed.GetQueryCode()[:len(filed.GetQueryCode())-1] + "1"
			}
			start := time.Now()
			_, err := caseClient(t, citizen).Complain(citizen.ctx(), &yizhanv1.CaseActionRequest{Number: filed.GetNumber(), QueryCode: wrong, Reason: "代办员态度生硬"})
			if status.Code(err) != codes.NotFound || time.Since(start) > 2*time.Second {
				t.Errorf("a wrong query code: %v after %v, want NotFound at once", err, time.Since(start).Round(time.Millisecond))
			}
		}
	}
	for _, n := range numbers {
		waitFor(t, "the complaint at the county", func() bool {
			complaints := 0
			for _, e := range countyNode.Office().Cases().Events(n) {
				if e.GetType() == yizhanv1.EventType_EVENT_TYPE_COMPLAINED {
					complaints++
				}
			}
			if complaints > 1 {
				t.Fatalf("case %s holds %d complaints, one made", n, complaints)
			}
			return complaints == 1
		}, 20*time.Second)
	}

	// The village cut off once the case has gone on: its copy names an
	// office it cannot reach.
	filed := fileTobacco(t, agent, "韦丽")
	waitFor(t, "the case handed on", func() bool {
		c, ok := village.Office().Cases().Case(filed.GetNumber())
		return ok && c.GetOwnerOffice() != dongcun
	}, 20*time.Second)
	f.links["dongcun-1"].Cut()
	_, err := caseClient(t, citizen).Complain(citizen.ctx(), &yizhanv1.CaseActionRequest{Number: filed.GetNumber(), QueryCode: filed.GetQueryCode(), Reason: "代办员态度生硬"})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("a complaint at a village cut off, its case gone on: %v, want Unavailable", err)
	}
}
