package node_test

import (
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A citizen who lists the follow-ups of their case with its query code
// and a state gets those in that state only, as staff do: the open one
// while the office investigates, none replied; then, replied, the other
// way round. The state was not looked at, and every follow-up came back
// whatever state was asked for.
func TestACitizensFollowUpsKeepTheStateAskedFor(t *testing.T) {
	f := newCaseFed(t, 1)
	clerk := dial(t, f.nodes["county-1"]).login("clerk", password)
	clerkSup := yizhanv1.NewSupervisionServiceClient(clerk.conn)
	filed := fileTobacco(t, clerk, "韦丽")
	n, code := filed.GetNumber(), filed.GetQueryCode()
	if _, err := caseClient(t, clerk).Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n}); err != nil {
		t.Fatal(err)
	}
	citizen := dial(t, f.nodes["dongcun-1"])
	if _, err := caseClient(t, citizen).Complain(citizen.ctx(), &yizhanv1.CaseActionRequest{Number: n, QueryCode: code, Reason: "窗口人员态度生硬"}); err != nil {
		t.Fatal(err)
	}
	citizenSup := yizhanv1.NewSupervisionServiceClient(citizen.conn)
	list := func(st yizhanv1.FollowUpState) []*yizhanv1.FollowUp {
		t.Helper()
		r, err := citizenSup.ListFollowUps(citizen.ctx(), &yizhanv1.ListFollowUpsRequest{CaseNumber: n, QueryCode: code, State: st})
		if err != nil {
			t.Fatalf("the citizen's follow-ups in state %s: %v", st, err)
		}
		return r.GetFollowUps()
	}
	var fu *yizhanv1.FollowUp
	waitFor(t, "the follow-up of the complaint", func() bool {
		fs := list(yizhanv1.FollowUpState_FOLLOW_UP_STATE_UNSPECIFIED)
		if len(fs) == 1 {
			fu = fs[0]
		}
		return fu != nil
	}, 10*time.Second)
	check := func(when string, want map[yizhanv1.FollowUpState]int) {
		t.Helper()
		for _, st := range []yizhanv1.FollowUpState{yizhanv1.FollowUpState_FOLLOW_UP_STATE_UNSPECIFIED, yizhanv1.FollowUpState_FOLLOW_UP_STATE_OPEN,
			yizhanv1.FollowUpState_FOLLOW_UP_STATE_REPLIED, yizhanv1.FollowUpState_FOLLOW_UP_STATE_RESOLVED} {
			fs := list(st)
			if len(fs) != want[st] {
				t.Errorf("%s: the citizen asked for the follow-ups in state %s and got %d, want %d", when, st, len(fs), want[st])
			}
			for _, x := range fs {
				if st != yizhanv1.FollowUpState_FOLLOW_UP_STATE_UNSPECIFIED && x.GetState() != st {
					t.Errorf("%s: asked for state %s, got a follow-up in state %s", when, st, x.GetState())
				}
			}
		}
	}
	check("open", map[yizhanv1.FollowUpState]int{yizhanv1.FollowUpState_FOLLOW_UP_STATE_UNSPECIFIED: 1, yizhanv1.FollowUpState_FOLLOW_UP_STATE_OPEN: 1})
	if _, err := clerkSup.ReplyFollowUp(clerk.ctx(), &yizhanv1.ReplyFollowUpRequest{Id: fu.GetId(), Text: "已对窗口人员批评教育"}); err != nil {
		t.Fatal(err)
	}
	check("replied", map[yizhanv1.FollowUpState]int{yizhanv1.FollowUpState_FOLLOW_UP_STATE_UNSPECIFIED: 1, yizhanv1.FollowUpState_FOLLOW_UP_STATE_REPLIED: 1})
}
