package node_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/node"
)

// A scan uploaded a day ago, which no case names yet, is named by a
// filing just as the leader's sweep of such scans runs: the filing waits
// for the sweep, or the sweep for the filing. The filing is refused
// (the scan is gone: it is uploaded again), or filed with its scan held;
// never filed naming a scan the office no longer holds, which could not
// go up nor be read.
func TestAScanIsNotDroppedUnderTheFilingThatNamesIt(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.Now = now
		c.RerouteSweepInterval = time.Hour
	})
	village := f.nodes["dongcun-1"]
	agent := dial(t, village).login("dongcun", password)
	data := scan(casework.AttachmentPartBytes+1000, 77)
	a := upload(t, agent, data, casework.TypePDF, "身份证.pdf")
	skew.Store(int64(24*time.Hour + time.Minute))
	agent = dial(t, village).login("dongcun", password)
	cl := caseClient(t, agent)
	// The filing waits for its case's lock (its number is the day's
	// first), and the sweep runs meanwhile.
	var unlocks []func()
	for seq := uint32(1); seq <= 3; seq++ {
		unlocks = append(unlocks, village.Office().LockCase(casework.CaseNumber(dongcun, now(), seq)))
	}
	type filing struct {
		c   *yizhanv1.Case
		err error
	}
	filed := make(chan filing, 1)
	go func() {
		resp, err := cl.FileCase(agent.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: "覃海燕", IdNumber: applicantID, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1, Files: []*yizhanv1.Attachment{a}}}})
		filed <- filing{resp.GetCase(), err}
	}()
	time.Sleep(500 * time.Millisecond)
	swept := make(chan error, 1)
	go func() {
		_, err := node.SweepAttachmentsForTest(context.Background(), village)
		swept <- err
	}()
	time.Sleep(500 * time.Millisecond)
	for _, u := range unlocks {
		u()
	}
	got := <-filed
	if err := <-swept; err != nil {
		t.Errorf("the sweep: %v", err)
	}
	if got.err == nil {
		if _, complete := village.Office().Cases().AttachmentHeld(a.Sha256); !complete {
			t.Errorf("case %s is filed naming scan %s, which the village no longer holds", got.c.GetNumber(), a.Sha256[:12])
		}
	}
}
