package node_test

import (
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/feed"
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

// A village PC booted with its clock battery flat (its clock in 2001) and
// its link to the township down: no heartbeat can measure its clock, but
// its registry's newest write was stamped by the county's clock, which
// has reached that time at least. The village signs no one in (a token it
// dated would be refused: issued before the county stamped the password)
// and writes nothing, not even a citizen's question (CLOCK_OFF, its
// status saying by how much at least), until its clock is set right; then
// it signs in and files again, still cut off.
func TestAVillageBootedWithAFlatClockWritesNothingBeforeAHeartbeat(t *testing.T) {
	var skew atomic.Int64
	f := newTunedCaseFed(t, 1, func(name string, c *node.Config) {
		if name == "xicun-1" {
			c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
			c.ClockElapsed = func(time.Time) time.Duration { return feed.ClockReading(time.Now()) }
		}
	})
	fileTobacco(t, dial(t, f.nodes["xicun-1"]).login("xicun", password), "张三")

	f.links["xicun-1"].Cut()
	f.stop("xicun-1")
	skew.Store(int64(time.Date(2001, 1, 1, 8, 0, 0, 0, time.UTC).Sub(time.Now())))
	village := f.restart("xicun-1")
	waitFor(t, "the village's leader ready", village.Office().LeaderReady, 10*time.Second)
	cases := village.Office().Cases().Len()
	clockOff := func(what string, err error) {
		t.Helper()
		if status.Code(err) != codes.FailedPrecondition || reason.StatusReason(err) != reason.ClockOff {
			t.Errorf("%s at a village booted in 2001, cut off: %v, want CLOCK_OFF", what, err)
		}
	}
	c := dial(t, village)
	var err error
	waitFor(t, "the village answers", func() bool {
		_, err = c.auth.Login(c.ctx(), &yizhanv1.LoginRequest{Username: "xicun", Password: password})
		return status.Code(err) != codes.Unavailable
	}, 20*time.Second)
	clockOff("signing in", err)
	_, err = yizhanv1.NewSupervisionServiceClient(c.conn).AskQuestion(c.ctx(), &yizhanv1.AskQuestionRequest{
		ItemCode: tobacco().Code, Question: "开小卖部卖烟要办什么手续?"})
	clockOff("a citizen's question", err)
	_, err = caseClient(t, c).FileCase(c.ctx(), &yizhanv1.FileCaseRequest{
		ItemCode:  tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "李四", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}},
	})
	clockOff("a citizen's filing online", err)
	if got := village.Office().Cases().Len(); got != cases {
		t.Errorf("the refused filing left %d cases, want %d", got, cases)
	}
	if cs, _, _ := village.Office().Cases().Consultations(casebook.ConsultationQuery{Office: xicun}); len(cs) != 0 {
		t.Errorf("the refused question left %d consultations", len(cs))
	}
	st, err := yizhanv1.NewRegistryServiceClient(c.conn).GetRegistryStatus(c.ctx(), &yizhanv1.GetRegistryStatusRequest{})
	if years := st.GetClockOffsetSeconds() / (365 * 24 * 3600); err != nil || years < 20 {
		t.Errorf("the status says the clock is %v s behind (%v), want more than 20 years", st.GetClockOffsetSeconds(), err)
	}

	skew.Store(0) // the operator sets it right
	fileTobacco(t, dial(t, village).login("xicun", password), "李四")
}
