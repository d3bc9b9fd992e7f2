package node_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// An action on a case whose caller gave up while it was in the log (its
// deadline ran out), sent again at once under its request ID, is answered
// as a replay (x-yizhan-replayed) whenever the first attempt is the one
// the case holds: the retry, which found the case as it was before the
// first (the first's caller had let go of the case), was answered as a
// new write. The first attempts' deadlines range over the time an action
// takes, so that some run out while the action is in the log.
func TestAnActionRetriedAfterItsFirstAttemptGaveUpIsAnsweredAsAReplay(t *testing.T) {
	f := newCaseFed(t, 1)
	village := f.nodes["xicun-1"]
	agent := dial(t, village).login("xicun", password)
	cases := caseClient(t, agent)
	asNew, seen := 0, map[string]int{}
	for trial := range 60 {
		// Each filing from its own address: anonymous filings are limited
		// by address.
		from := dialFrom(t, village, fmt.Sprintf("127.0.%d.%d", 1+trial/200, 2+trial%200))
		resp, err := caseClient(t, from).FileCase(from.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: "广告甲", IdNumber: applicantID, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		number := resp.GetCase().GetNumber()
		req := &yizhanv1.CaseActionRequest{RequestId: fmt.Sprintf("gave-up-%d", trial), Number: number, Reason: "广告，无效申报"}
		ctx, cancel := context.WithTimeout(agent.ctx(), time.Duration(300+100*(trial%30))*time.Microsecond)
		_, first := cases.RejectPrecheck(ctx, req)
		cancel()
		if first == nil {
			seen["first answered"]++
			continue
		}
		retryAt := time.Now()
		var header metadata.MD
		if _, err := cases.RejectPrecheck(agent.ctx(), req, grpc.Header(&header)); err != nil {
			t.Fatalf("case %s: the retry of a rejection whose first attempt gave up (%v): %v", number, first, err)
		}
		events := village.Office().Cases().Events(number)
		byFirst := events[len(events)-1].GetAt().AsTime().Before(retryAt)
		replayed := len(header.Get("x-yizhan-replayed")) > 0
		seen[fmt.Sprintf("rejected by the first attempt %v, retry told replayed %v", byFirst, replayed)]++
		if byFirst && !replayed {
			asNew++
		}
	}
	t.Logf("%v", seen)
	if asNew > 0 {
		t.Errorf("%d retries of a rejection the first attempt made were answered as new writes, not as replays", asNew)
	}
}
