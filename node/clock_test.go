package node_test

import (
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/reason"
)

// A village PC whose clock is 20 minutes ahead of the county's dates
// nothing wrong: once its registry feed's heartbeats have told it, a
// filing there is refused CLOCK_OFF (nothing is written), its status
// says by how much; set to within five minutes, it files again from the
// next heartbeat on. (A wall clock set right on a machine is noticed at
// once, by the monotonic clock: feed's TestClockEstimate. This test's
// clock moves its monotonic reading with its wall one, as time going by
// would.)
func TestAVillageWhoseClockIsOffWritesNothing(t *testing.T) {
	var skew atomic.Int64
	f := newTunedCaseFed(t, 1, func(name string, c *node.Config) {
		if name == "xicun-1" {
			c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		}
	})
	village := f.nodes["xicun-1"]
	agent := dial(t, village).login("xicun", password)
	cases := village.Office().Cases().Len()

	skew.Store(int64(20 * time.Minute))
	waitFor(t, "the village's clock measured 20 minutes ahead", func() bool {
		off, ok := village.Office().ClockOffset()
		return ok && off < -19*time.Minute && off > -21*time.Minute
	}, 10*time.Second)
	_, err := caseClient(t, agent).FileCase(agent.ctx(), &yizhanv1.FileCaseRequest{
		ItemCode:  tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "李四", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}},
	})
	if status.Code(err) != codes.FailedPrecondition || reason.StatusReason(err) != reason.ClockOff {
		t.Fatalf("a filing at a village whose clock is 20 minutes ahead: %v", err)
	}
	if got := village.Office().Cases().Len(); got != cases {
		t.Errorf("the refused filing left %d cases, want %d", got, cases)
	}
	st, err := yizhanv1.NewRegistryServiceClient(agent.conn).GetRegistryStatus(agent.ctx(), &yizhanv1.GetRegistryStatusRequest{})
	if err != nil || st.GetClockOffsetSeconds() > -19*60 || st.GetClockOffsetSeconds() < -21*60 {
		t.Errorf("the status says the clock is %v s off (%v), want about -1200", st.GetClockOffsetSeconds(), err)
	}

	// Set right to within two minutes: it files again.
	skew.Store(int64(2 * time.Minute))
	waitFor(t, "the village's clock measured 2 minutes ahead", func() bool {
		off, ok := village.Office().ClockOffset()
		return ok && off < -time.Minute && off > -3*time.Minute
	}, 10*time.Second)
	fileTobacco(t, agent, "李四")
}
