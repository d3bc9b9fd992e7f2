package casebook

import (
	"errors"
	"testing"
	"time"

	gproto "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/duty"
)

// signNext is draft r signed at v as the office's leader signs it: a
// follow-up or final report with its matter's next number.
func signNext(v *office, r *yizhanv1.UrgentReport) *yizhanv1.UrgentReport {
	s := duty.Sign(r, "leader", "带班领导", v.now)
	if s.GetKind() != yizhanv1.ReportKind_REPORT_KIND_FIRST {
		s.FollowUpNumber = v.book.NextFollowUpNumber(s.GetFirstId())
	}
	return s
}

// docs/DUTY.md: a follow-up (续报) is numbered when it is signed, in the
// order its matter's reports are signed. The book refuses a signature
// with a number that is not the matter's next (one signed meanwhile took
// it), and writes nothing; a draft carries no number and a change does
// not give it one. A draft written by the previous release, numbered as
// it was written, is signed with the number it carries, as that release
// applied it, and the next number after a gap or a number held twice is
// still a new one.
func TestFollowUpsAreNumberedAsTheyAreSigned(t *testing.T) {
	reg := newRegistry(t)
	v := newOffice(t, village, reg)
	first := firstReportOf(v, "AAAAAA", 10*time.Minute)
	for _, r := range []*yizhanv1.UrgentReport{first, signNext(v, first)} {
		if res := v.putCmd(putReport(r)); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	follow := func(suffix string, number uint32) *yizhanv1.UrgentReport {
		t.Helper()
		r := gproto.CloneOf(first)
		r.Id, r.Kind, r.FirstId, r.FollowUpNumber = duty.ReportID(village, v.now, suffix), yizhanv1.ReportKind_REPORT_KIND_FOLLOW_UP, first.GetId(), number
		r.Title, r.WrittenAt = "车辆侧翻续报", timestamppb.New(v.now)
		if res := v.putCmd(putReport(r)); res.Err != nil {
			t.Fatal(res.Err)
		}
		return r
	}
	a, b := follow("BBBBBB", 0), follow("CCCCCC", 0)
	if n := v.book.NextFollowUpNumber(first.GetId()); n != 1 {
		t.Fatalf("with no follow-up signed, the next is 续报%d, want 续报1", n)
	}
	changed := gproto.CloneOf(a)
	changed.Version, changed.FollowUpNumber = 2, 1
	if res := v.putCmd(putReport(changed)); res.Err == nil {
		t.Error("a change of a draft gave it a follow-up number")
	}
	sb := signNext(v, b)
	if res := v.putCmd(putReport(sb)); res.Err != nil {
		t.Fatal(res.Err)
	}
	outbox := len(v.book.Outbox())
	stale := duty.Sign(a, "leader", "带班领导", v.now)
	stale.FollowUpNumber = sb.GetFollowUpNumber() // read before b was signed
	if res := v.putCmd(putReport(stale)); !errors.Is(res.Err, ErrFollowUpNumber) {
		t.Errorf("续报%d signed twice: %v, want ErrFollowUpNumber", stale.GetFollowUpNumber(), res.Err)
	}
	if h, _ := v.book.Report(a.GetId()); h.GetReport().GetState() != yizhanv1.ReportState_REPORT_STATE_DRAFT || len(v.book.Outbox()) != outbox {
		t.Errorf("the refused signature is kept: %v, %d more queued up", h.GetReport().GetState(), len(v.book.Outbox())-outbox)
	}
	if res := v.putCmd(putReport(signNext(v, a))); res.Err != nil {
		t.Fatal(res.Err)
	}
	if ha, _ := v.book.Report(a.GetId()); sb.GetFollowUpNumber() != 1 || ha.GetReport().GetFollowUpNumber() != 2 {
		t.Errorf("signed second-drafted first: 续报%d, then 续报%d; want 续报1, 续报2", sb.GetFollowUpNumber(), ha.GetReport().GetFollowUpNumber())
	}

	// The previous release's drafts: 续报2 and 续报5, numbered as written.
	for _, old := range []*yizhanv1.UrgentReport{follow("DDDDDD", 2), follow("EEEEEE", 5)} {
		if res := v.putCmd(putReport(duty.Sign(old, "leader", "带班领导", v.now))); res.Err != nil {
			t.Fatalf("a draft of the previous release signed as it numbered it: %v", res.Err)
		}
	}
	if n := v.book.NextFollowUpNumber(first.GetId()); n != 6 {
		t.Errorf("after 续报1, 2, 2 and 5, the next is 续报%d, want 续报6", n)
	}
	v.check()
}
