package casebook

import (
	"context"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	gproto "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/supervision"
)

func flagCmd(f *yizhanv1.UnsignedReportFlag) *peerv1.CaseCommand {
	return &peerv1.CaseCommand{Op: &peerv1.CaseCommand_FlagUnsignedReport{FlagUnsignedReport: &peerv1.FlagUnsignedReport{Flag: f}}}
}

// dutyCounts are office's duty counters in the book of o over the days
// around now.
func (o *office) dutyCounts(of string) supervision.Counters {
	o.t.Helper()
	groups, err := o.book.SumStats(RangeQuery{From: o.now.AddDate(0, 0, -3), To: o.now.AddDate(0, 0, 3), Office: of}, func(s Stat) string {
		if !duty.IsCounter(s.Outcome) {
			return ""
		}
		return "*"
	})
	if err != nil {
		o.t.Fatal(err)
	}
	if groups["*"] == nil {
		return supervision.Counters{}
	}
	return groups["*"]
}

// A draft first report unsigned at its deadline is flagged once at its
// office (not before the deadline); the flag travels up, and the
// township and the county list and count it until the signed report
// reaches them, which then counts as late there instead.
func TestUnsignedReportFlaggedUpTheTree(t *testing.T) {
	reg := newRegistry(t)
	v, tw, c := newOffice(t, village, reg), newOffice(t, township, reg), newOffice(t, county, reg)
	r := &yizhanv1.UrgentReport{Id: duty.ReportID(village, v.now, "ABCDEF"), OfficeCode: village, Kind: yizhanv1.ReportKind_REPORT_KIND_FIRST,
		Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_ACCIDENT, Level: yizhanv1.IncidentLevel_INCIDENT_LEVEL_IV,
		Title: "车辆侧翻", Place: "村口", Details: "一辆货车侧翻", OccurredAt: timestamppb.New(v.now.Add(-50 * time.Minute)),
		WrittenAt: timestamppb.New(v.now), State: yizhanv1.ReportState_REPORT_STATE_DRAFT, Version: 1, Reporter: "duty", ReporterName: "值班员"}
	if res := v.putCmd(putReport(r)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if due, _ := v.book.DraftsDue(v.now, 10); len(due) != 0 {
		t.Fatalf("%d drafts due 10 minutes before the deadline", len(due))
	}
	// Raised early (the flag's own times say after the deadline, the
	// command's time says before): refused.
	early, _ := duty.UnsignedFlag(r, v.now.Add(time.Hour))
	if res := v.putCmd(flagCmd(early)); res.Err == nil {
		t.Fatal("a flag before the report's deadline was kept")
	}
	v.now = v.now.Add(20 * time.Minute) // ten minutes past the deadline
	due, _ := v.book.DraftsDue(v.now, 10)
	if len(due) != 1 || due[0].GetId() != r.GetId() {
		t.Fatalf("drafts due: %v", due)
	}
	f, ok := duty.UnsignedFlag(due[0], v.now)
	if !ok {
		t.Fatal("no flag due")
	}
	if res := v.putCmd(flagCmd(f)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if res := v.putCmd(flagCmd(f)); res.Err == nil {
		t.Error("a report was flagged twice")
	}
	if due, _ := v.book.DraftsDue(v.now.Add(time.Hour), 10); len(due) != 0 {
		t.Errorf("a flagged draft is still due: %v", due)
	}
	if h, _ := v.book.Report(r.GetId()); h.GetFlaggedUnsignedAt() == nil {
		t.Error("the village's report does not show its flag")
	}
	deliver(t, v, tw)
	deliver(t, tw, c)
	for _, o := range []*office{v, tw, c} {
		fl, err := o.book.UnsignedFlags(township)
		if err != nil || len(fl) != 1 || fl[0].GetReportId() != r.GetId() || fl[0].GetTitle() != "车辆侧翻" {
			t.Errorf("%s lists %v (%v)", o.code, fl, err)
		}
		if n := o.dutyCounts(village)[duty.CountUnsignedReports]; n != 1 {
			t.Errorf("%s counts %d unsigned reports, want 1", o.code, n)
		}
	}
	// A flag from a child not of its subtree, or not after the deadline,
	// is refused.
	forged := gproto.CloneOf(f)
	forged.OfficeCode = "450122102001"
	if rc := receive(t, c, &peerv1.CaseMessage{CaseNumber: f.GetId(), FromOffice: township, UnsignedFlag: forged}); rc[0].GetRefused() == "" {
		t.Error("a flag naming another office than its report's was taken")
	}

	checkNamesDamage(t, tw.book, tw.reg, pUnsignedOpen)

	// Signed at last: every book settles the flag; the report is late.
	if res := v.putCmd(putReport(duty.Sign(r, "leader", "带班领导", v.now))); res.Err != nil {
		t.Fatal(res.Err)
	}
	deliver(t, v, tw)
	deliver(t, tw, c)
	for _, o := range []*office{v, tw, c} {
		if fl, _ := o.book.UnsignedFlags(""); len(fl) != 0 {
			t.Errorf("%s still lists %d unsigned reports", o.code, len(fl))
		}
		got := o.dutyCounts(village)
		if got[duty.CountUnsignedReports] != 0 || got[duty.CountLateReports] != 1 || got[duty.CountFirstReports] != 1 || got[duty.CountReportsSigned] != 1 {
			t.Errorf("%s counts %v", o.code, got)
		}
		signed, err := o.book.FirstReportsSigned(village, v.now.Add(-time.Hour), v.now.Add(time.Hour))
		if err != nil || len(signed) != 1 {
			t.Errorf("%s: first reports signed in the hour: %d (%v)", o.code, len(signed), err)
		}
		if signed, _ := o.book.FirstReportsSigned(village, v.now.Add(time.Minute), v.now.Add(time.Hour)); len(signed) != 0 {
			t.Errorf("%s: %d first reports signed after they were", o.code, len(signed))
		}
		o.check()
	}
}

// A flag that reaches a book after the signed report (the outbox sends
// in no set order) is kept and not counted there.
func TestUnsignedFlagAfterItsReport(t *testing.T) {
	reg := newRegistry(t)
	v, tw := newOffice(t, village, reg), newOffice(t, township, reg)
	r := &yizhanv1.UrgentReport{Id: duty.ReportID(village, v.now, "GHJKLM"), OfficeCode: village, Kind: yizhanv1.ReportKind_REPORT_KIND_FIRST,
		Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_OTHER, Level: yizhanv1.IncidentLevel_INCIDENT_LEVEL_IV,
		Title: "停电", Place: "全村", Details: "大面积停电", OccurredAt: timestamppb.New(v.now.Add(-2 * time.Hour)),
		WrittenAt: timestamppb.New(v.now), State: yizhanv1.ReportState_REPORT_STATE_DRAFT, Version: 1, Reporter: "duty"}
	if res := v.putCmd(putReport(r)); res.Err != nil {
		t.Fatal(res.Err)
	}
	f, _ := duty.UnsignedFlag(r, v.now.Add(time.Minute))
	v.now = v.now.Add(time.Minute)
	if res := v.putCmd(flagCmd(f)); res.Err != nil {
		t.Fatal(res.Err)
	}
	signed := duty.Sign(r, "leader", "带班领导", v.now)
	if res := v.putCmd(putReport(signed)); res.Err != nil {
		t.Fatal(res.Err)
	}
	receive(t, tw, &peerv1.CaseMessage{CaseNumber: r.GetId(), FromOffice: village, Report: signed})
	if rc := receive(t, tw, &peerv1.CaseMessage{CaseNumber: f.GetId(), FromOffice: village, UnsignedFlag: f}); rc[0].GetRefused() != "" {
		t.Fatal(rc[0].GetRefused())
	}
	if fl, _ := tw.book.UnsignedFlags(""); len(fl) != 0 {
		t.Errorf("the township lists a flag of a report it holds signed")
	}
	if got := tw.dutyCounts(village); got[duty.CountUnsignedReports] != 0 || got[duty.CountLateReports] != 1 {
		t.Errorf("the township counts %v", got)
	}
	if h, _ := tw.book.Report(r.GetId()); h.GetFlaggedUnsignedAt() == nil {
		t.Error("the township's copy does not show the flag")
	}
	tw.check()
	v.check()
}

// A book of the previous release (statsFormat 3: no duty counters, no
// indexes of signed first reports, drafts and open flags) counts and
// indexes its duty records before it applies anything more.
func TestDutyRecordsOfAnOlderReleaseAreCounted(t *testing.T) {
	reg := newRegistry(t)
	v := newOffice(t, village, reg)
	draft := func(suffix string, occurred time.Duration) *yizhanv1.UrgentReport {
		r := &yizhanv1.UrgentReport{Id: duty.ReportID(village, v.now, suffix), OfficeCode: village, Kind: yizhanv1.ReportKind_REPORT_KIND_FIRST,
			Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_OTHER, Level: yizhanv1.IncidentLevel_INCIDENT_LEVEL_IV,
			Title: "情况" + suffix, Place: "村委", Details: "详情", OccurredAt: timestamppb.New(v.now.Add(-occurred)),
			WrittenAt: timestamppb.New(v.now), State: yizhanv1.ReportState_REPORT_STATE_DRAFT, Version: 1, Reporter: "duty"}
		if res := v.putCmd(putReport(r)); res.Err != nil {
			t.Fatal(res.Err)
		}
		return r
	}
	late := draft("AAAAAA", 2*time.Hour)
	if res := v.putCmd(putReport(duty.Sign(late, "leader", "带班领导", v.now))); res.Err != nil {
		t.Fatal(res.Err)
	}
	flagged := draft("BBBBBB", 2*time.Hour)
	f, _ := duty.UnsignedFlag(flagged, v.now.Add(time.Minute))
	v.now = v.now.Add(time.Minute)
	if res := v.putCmd(flagCmd(f)); res.Err != nil {
		t.Fatal(res.Err)
	}
	draft("CCCCCC", 10*time.Minute)
	before := v.dutyCounts(village)

	db := v.book.db
	if err := db.DropPrefix([]byte(pStat), []byte(pFirstBySigned), []byte(pDraftDue), []byte(pUnsignedOpen)); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set(keyStatsFormat, be64(3)) }); err != nil {
		t.Fatal(err)
	}
	b, err := Open(db, village)
	if err != nil {
		t.Fatal(err)
	}
	v.book = b
	v.mem = casework.NewBook(village)
	v.index++
	b.Apply([]Entry{{Index: v.index, At: v.now.UnixNano(), Cmd: &peerv1.CaseCommand{Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{}}}}}, v.index, reg)
	if problems, err := b.Check(context.Background(), reg); err != nil || len(problems) > 0 {
		t.Fatalf("check: %v %v", problems, err)
	}
	if got := v.dutyCounts(village); got[duty.CountLateReports] != 1 || got[duty.CountUnsignedReports] != 1 || len(got) != len(before) {
		t.Errorf("counted again: %v, before %v", got, before)
	}
	if fl, _ := b.UnsignedFlags(""); len(fl) != 1 {
		t.Errorf("%d open flags", len(fl))
	}
	if due, _ := b.DraftsDue(v.now.Add(time.Hour), 10); len(due) != 1 || due[0].GetTitle() != "情况CCCCCC" {
		t.Errorf("drafts due: %v", due)
	}
}
