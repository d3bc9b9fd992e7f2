package casebook

import (
	"errors"
	"slices"
	"testing"
	"time"

	gproto "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/duty"
)

func (o *office) putCmd(cmd *peerv1.CaseCommand) Result {
	o.t.Helper()
	o.index++
	o.now = o.now.Add(o.step)
	cmd.AtUnixNano = o.now.UnixNano()
	return o.book.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(), Cmd: cmd}}, o.index, o.reg)[0]
}

func putReport(r *yizhanv1.UrgentReport) *peerv1.CaseCommand {
	return &peerv1.CaseCommand{Op: &peerv1.CaseCommand_PutReport{PutReport: &peerv1.PutUrgentReport{Report: r}}}
}

// A report signed at a village in time travels up; held an hour and a
// half later at the county it is late there, on time at the village; the
// township's and the county's acknowledgements are kept once each; a
// final report closes the matter.
func TestReportsTravelUpAndAreAcknowledged(t *testing.T) {
	reg := newRegistry(t)
	v, tw, c := newOffice(t, village, reg), newOffice(t, township, reg), newOffice(t, county, reg)
	r := &yizhanv1.UrgentReport{Id: duty.ReportID(village, v.now, "ABCDEF"), OfficeCode: village, Kind: yizhanv1.ReportKind_REPORT_KIND_FIRST,
		Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_NATURAL_DISASTER, Level: yizhanv1.IncidentLevel_INCIDENT_LEVEL_IV,
		Title: "滑坡", Place: "后山", Details: "冲毁农房", OccurredAt: timestamppb.New(v.now.Add(-30 * time.Minute)),
		WrittenAt: timestamppb.New(v.now), State: yizhanv1.ReportState_REPORT_STATE_DRAFT, Version: 1, Reporter: "duty"}
	if res := v.putCmd(putReport(r)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if len(v.book.Outbox()) != 0 {
		t.Error("a draft was queued up")
	}
	signed := duty.Sign(r, "leader", "带班领导", v.now)
	if res := v.putCmd(putReport(signed)); res.Err != nil {
		t.Fatal(res.Err)
	}
	again := duty.Sign(signed, "leader", "带班领导", v.now)
	if res := v.putCmd(putReport(again)); res.Err == nil {
		t.Error("a signed report changed")
	}
	deliver(t, v, tw)
	c.now = v.now.Add(90 * time.Minute) // the link to the county was down
	deliver(t, tw, c)
	hv, _ := v.book.Report(r.GetId())
	hc, ok := c.book.Report(r.GetId())
	if !ok || !hc.GetLate() || hv.GetLate() {
		t.Fatalf("late at the county %v (held %v), at the village %v", hc.GetLate(), ok, hv.GetLate())
	}
	// An older copy again changes nothing; a forged one is refused.
	if rc := receive(t, c, &peerv1.CaseMessage{CaseNumber: r.GetId(), FromOffice: township, Report: signed}); rc[0].GetRefused() != "" || rc[0].GetHaveSeq() != signed.GetVersion() {
		t.Errorf("a copy held: %v", rc[0])
	}
	other := duty.Sign(r, "x", "x", v.now)
	other.Id, other.OfficeCode = duty.ReportID("450122102000", v.now, "GHJKLM"), "450122102000"
	if rc := receive(t, c, &peerv1.CaseMessage{CaseNumber: other.GetId(), FromOffice: township, Report: other}); rc[0].GetRefused() == "" {
		t.Error("a report of another township's was taken from this one")
	}

	ack := func(o *office) {
		t.Helper()
		a := &yizhanv1.ReportAck{Id: duty.AckID(o.code, r.GetId()), ReportId: r.GetId(), OfficeCode: o.code, By: "duty", At: timestamppb.New(o.now)}
		if res := o.putCmd(&peerv1.CaseCommand{Op: &peerv1.CaseCommand_PutReportAck{PutReportAck: &peerv1.PutReportAck{Ack: a}}}); res.Err != nil {
			t.Fatal(res.Err)
		}
		if res := o.putCmd(&peerv1.CaseCommand{Op: &peerv1.CaseCommand_PutReportAck{PutReportAck: &peerv1.PutReportAck{Ack: a}}}); res.Err == nil {
			t.Error("acknowledged twice")
		}
	}
	if un, _, _ := tw.book.Reports(ReportQuery{Unacknowledged: true}); len(un) != 1 {
		t.Errorf("the township awaits %d acknowledgements, want 1", len(un))
	}
	ack(tw)
	ack(c)
	deliver(t, tw, c)
	if hc, _ := c.book.Report(r.GetId()); len(hc.GetAcks()) != 2 {
		t.Errorf("the county holds %d acknowledgements, want 2", len(hc.GetAcks()))
	}
	for _, o := range []*office{tw, c} {
		if un, _, _ := o.book.Reports(ReportQuery{Unacknowledged: true}); len(un) != 0 {
			t.Errorf("%s still awaits %d acknowledgements", o.code, len(un))
		}
	}

	final := &yizhanv1.UrgentReport{Id: duty.ReportID(village, v.now, "MNPQRS"), OfficeCode: village, Kind: yizhanv1.ReportKind_REPORT_KIND_FINAL,
		FirstId: r.GetId(), Category: r.GetCategory(), Level: r.GetLevel(), Title: "滑坡终报", Place: "后山", Details: "已处置完毕",
		OccurredAt: r.GetOccurredAt(), WrittenAt: timestamppb.New(v.now), State: yizhanv1.ReportState_REPORT_STATE_DRAFT, Version: 1, Reporter: "duty"}
	if res := v.putCmd(putReport(final)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if res := v.putCmd(putReport(signNext(v, final))); res.Err != nil {
		t.Fatal(res.Err)
	}
	more := gproto.CloneOf(final)
	more.Id, more.Kind = duty.ReportID(village, v.now, "TUVWXY"), yizhanv1.ReportKind_REPORT_KIND_FOLLOW_UP
	if res := v.putCmd(putReport(more)); res.Err == nil {
		t.Error("a follow-up after the final report was kept")
	}
	deliver(t, v, tw)
	deliver(t, tw, c)
	if hc, _ := c.book.Report(r.GetId()); !hc.GetClosed() {
		t.Error("the matter is not closed at the county")
	}
	for _, o := range []*office{v, tw, c} {
		o.check()
	}
	checkNamesDamage(t, c.book, c.reg, pReportByOffice, pReportFollowing, pAwaitingAck, pFirstBySigned)
}

// Each listing of reports goes on page after page from where the page
// before ended: the reports waiting for an office's acknowledgement, a
// matter's reports and an office's newest first, each report once; a
// page token of another listing, or one it did not give out, is
// ErrBadPageToken.
func TestReportListingsGoOnPageAfterPage(t *testing.T) {
	reg := newRegistry(t)
	v, tw := newOffice(t, village, reg), newOffice(t, township, reg)
	report := func(suffix string, kind yizhanv1.ReportKind, first string) *yizhanv1.UrgentReport {
		r := &yizhanv1.UrgentReport{Id: duty.ReportID(village, v.now, suffix), OfficeCode: village, Kind: kind, FirstId: first,
			Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_NATURAL_DISASTER, Level: yizhanv1.IncidentLevel_INCIDENT_LEVEL_IV,
			Title: "滑坡", Place: "后山", Details: "冲毁农房", OccurredAt: timestamppb.New(v.now.Add(-30 * time.Minute)),
			WrittenAt: timestamppb.New(v.now), State: yizhanv1.ReportState_REPORT_STATE_DRAFT, Version: 1, Reporter: "duty"}
		if res := v.putCmd(putReport(r)); res.Err != nil {
			t.Fatal(res.Err)
		}
		if res := v.putCmd(putReport(signNext(v, r))); res.Err != nil {
			t.Fatal(res.Err)
		}
		return r
	}
	first := report("AAAAAA", yizhanv1.ReportKind_REPORT_KIND_FIRST, "")
	matter := []string{first.GetId()}
	for _, s := range []string{"BBBBBB", "CCCCCC", "DDDDDD"} {
		matter = append(matter, report(s, yizhanv1.ReportKind_REPORT_KIND_FOLLOW_UP, first.GetId()).GetId())
	}
	for _, s := range []string{"EEEEEE", "FFFFFF"} {
		report(s, yizhanv1.ReportKind_REPORT_KIND_FIRST, "")
	}
	deliver(t, v, tw)

	walk := func(b *Book, q ReportQuery, want int) []string {
		t.Helper()
		whole, next, err := b.Reports(q)
		if err != nil || len(whole) != want || next != "" {
			t.Fatalf("%+v whole: %d, next %q, %v; want %d", q, len(whole), next, err, want)
		}
		var ids, paged []string
		for _, h := range whole {
			ids = append(ids, h.GetReport().GetId())
		}
		q.Limit = 2
		for pages := 1; ; pages++ {
			rs, next, err := b.Reports(q)
			if err != nil || len(rs) > 2 || pages > want {
				t.Fatalf("%+v page %d: %d reports, %v", q, pages, len(rs), err)
			}
			for _, h := range rs {
				paged = append(paged, h.GetReport().GetId())
			}
			if next == "" {
				break
			}
			q.PageToken = next
		}
		if !slices.Equal(paged, ids) {
			t.Errorf("%+v page by page: %v, want %v", q, paged, ids)
		}
		return ids
	}
	if got := walk(v.book, ReportQuery{FirstID: first.GetId()}, 4); !slices.Equal(got, matter) {
		t.Errorf("the matter: %v, want the first report then those that follow, %v", got, matter)
	}
	walk(tw.book, ReportQuery{Unacknowledged: true}, 6)
	walk(tw.book, ReportQuery{Office: village}, 6)
	walk(v.book, ReportQuery{Office: village, State: yizhanv1.ReportState_REPORT_STATE_SIGNED}, 6)

	_, unacked, _ := tw.book.Reports(ReportQuery{Unacknowledged: true, Limit: 1})
	_, newest, _ := tw.book.Reports(ReportQuery{Limit: 1})
	for _, q := range []ReportQuery{
		{PageToken: unacked},
		{Unacknowledged: true, PageToken: newest},
		{FirstID: first.GetId(), PageToken: newest},
		{PageToken: "AAAA"},
		{PageToken: pageToken(reportPages, append(be64(1), "ZX-450122101203-20261201-ABCDEF"...))},
	} {
		if _, _, err := tw.book.Reports(q); !errors.Is(err, ErrBadPageToken) {
			t.Errorf("%+v: %v, want ErrBadPageToken", q, err)
		}
	}
}
