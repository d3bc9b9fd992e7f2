package casework

import (
	"errors"
	"strings"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// An online filing waits at the office where it was filed until staff
// there take it up; only then does it travel. One turned down never
// leaves.
func TestOnlineFilingWaitsForItsPrecheck(t *testing.T) {
	w := newWorld(t)
	vb, tb := w.books[village], w.books[township]
	n := w.file(village, tobacco, citizen, tobaccoMaterials[:4]...)
	c, _ := vb.Case(n)
	if c.GetState() != stPrecheck {
		t.Fatalf("an online filing is %s, want PRECHECK", c.GetState())
	}
	w.settle()
	if got := vb.OutboxLen(); got != 0 {
		t.Errorf("the village queued %d messages for a filing not yet pre-checked", got)
	}
	if _, ok := tb.Case(n); ok {
		t.Error("the township holds a filing not yet pre-checked")
	}
	if _, err := w.do(village, n, ActionAccept, nil, eastAgent); !errors.Is(err, ErrFailedPrecondition) || !strings.Contains(err.Error(), "pre-check") {
		t.Errorf("accept before the pre-check: %v, want a failed precondition naming the pre-check", err)
	}
	if _, err := w.do(village, n, ActionPrecheck, nil, citizen); !errors.Is(err, ErrPermissionDenied) {
		t.Errorf("the citizen pre-checks: %v, want permission denied", err)
	}

	c = w.mustDo(village, n, ActionPrecheck, nil, eastAgent)
	if c.GetState() != stFiled {
		t.Fatalf("after the pre-check: %s, want FILED", c.GetState())
	}
	w.settle()
	if c, ok := tb.Case(n); !ok || c.GetOwnerOffice() == village {
		t.Errorf("after the pre-check the case did not travel on: township holds %v", c)
	}
	if _, err := w.do(village, n, ActionPrecheck, nil, eastAgent); err == nil {
		t.Error("a case was pre-checked twice")
	}
}

func TestPrecheckRejectedNeedsAReasonAndStaysPut(t *testing.T) {
	w := newWorld(t)
	vb := w.books[village]
	n := w.file(village, tobacco, citizen, tobaccoMaterials[:1]...)
	_, err := w.do(village, n, ActionRejectPrecheck, nil, eastAgent)
	var ve *registry.ValidationError
	if !errors.As(err, &ve) || ve.Violations[0].Field != "reason" {
		t.Fatalf("turn down without a reason: %v, want a violation on reason", err)
	}
	c := w.mustDo(village, n, ActionRejectPrecheck, &yizhanv1.CaseActionRequest{Reason: "重复申报"}, eastAgent)
	if c.GetState() != stPrecheckRejected {
		t.Fatalf("after the rejection: %s", c.GetState())
	}
	w.settle()
	if vb.OutboxLen() != 0 || len(vb.NeedsAction()) != 0 {
		t.Errorf("a rejected filing queued mail (%d) or needs a step (%v)", vb.OutboxLen(), vb.NeedsAction())
	}
	if _, err := w.do(village, n, ActionPrecheck, nil, eastAgent); !errors.Is(err, ErrFailedPrecondition) {
		t.Errorf("pre-check after the rejection: %v, want a failed precondition", err)
	}
	// The citizen may still complain about it.
	w.mustDo(village, n, ActionComplain, &yizhanv1.CaseActionRequest{Reason: "我的申报是真实的"}, citizen)
}

func TestCitizenWithdrawsAnOnlineFilingBeforeItsPrecheck(t *testing.T) {
	w := newWorld(t)
	n := w.file(village, tobacco, citizen, tobaccoMaterials[:1]...)
	c := w.mustDo(village, n, ActionWithdraw, &yizhanv1.CaseActionRequest{Reason: "不办了"}, citizen)
	if c.GetState() != stWithdrawn {
		t.Fatalf("after withdrawing: %s", c.GetState())
	}
	// Withdrawn before its pre-check, it never leaves the village.
	w.settle()
	if n := w.books[village].OutboxLen(); n != 0 {
		t.Errorf("the village queued %d messages for a filing withdrawn before its pre-check", n)
	}
	if _, ok := w.books[township].Case(n); ok {
		t.Error("the township holds a filing withdrawn before its pre-check")
	}
}

// A filing by staff (an agent at the window) needs no pre-check.
func TestFilingByStaffNeedsNoPrecheck(t *testing.T) {
	w := newWorld(t)
	n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	if c, _ := w.books[village].Case(n); c.GetState() != stFiled {
		t.Fatalf("a filing by staff is %s, want FILED", c.GetState())
	}
}
