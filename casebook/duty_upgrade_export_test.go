package casebook

import (
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/duty"
)

// A first report signed by the previous release two hours after the
// event, twenty minutes after its office learnt of it, was late (迟报) by
// that release's hour (from occurred_at): its book noted it late
// (book/drh/) and counted it among the late reports. The upgrade to stats
// format 12 judges it again by the hour from when the office learnt of
// it, in both: the report reads on time, and the assessment counts it
// so (it once read late while the recount counted it on time).
func TestTheUpgradeJudgesAReportSignedBeforeByOneRule(t *testing.T) {
	reg := newRegistry(t)
	v := newOffice(t, village, reg)
	r := &yizhanv1.UrgentReport{Id: duty.ReportID(village, v.now, "ZZZZZZ"), OfficeCode: village, Kind: yizhanv1.ReportKind_REPORT_KIND_FIRST,
		Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_NATURAL_DISASTER, Level: yizhanv1.IncidentLevel_INCIDENT_LEVEL_IV,
		Title: "夜间滑坡", Place: "后山", Details: "清晨发现", OccurredAt: timestamppb.New(v.now.Add(-2 * time.Hour)),
		KnownAt: timestamppb.New(v.now.Add(-20 * time.Minute)), WrittenAt: timestamppb.New(v.now),
		State: yizhanv1.ReportState_REPORT_STATE_DRAFT, Version: 1, Reporter: "duty"}
	if res := v.putCmd(putReport(r)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if res := v.putCmd(putReport(duty.Sign(r, "leader", "带班领导", v.now))); res.Err != nil {
		t.Fatal(res.Err)
	}
	// What the previous release left (its hour from occurred_at): the
	// report noted late, counted late, stats format 11.
	db := v.book.db
	if err := db.Update(func(txn *badger.Txn) error {
		it, err := txn.Get(reportHeldKey(r.GetId()))
		if err != nil {
			return err
		}
		held, err := it.ValueCopy(nil)
		if err != nil {
			return err
		}
		held[8] = 1
		if err := txn.Set(reportHeldKey(r.GetId()), held); err != nil {
			return err
		}
		return txn.Set(keyStatsFormat, be64(11))
	}); err != nil {
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

	h, _ := b.Report(r.GetId())
	if got := v.dutyCounts(village)[duty.CountLateReports]; got != 0 || h.GetLate() {
		t.Errorf("after the upgrade: the report shows late %v, the assessment counts %d late report(s); want on time in both, an hour from when it became known",
			h.GetLate(), got)
	}
}

// An upper office taking each period's export once gets every report
// (docs/DUTY.md): a village cut off for two days signs a first report on
// 2 March; the county takes the export of 2 March on the morning of the
// 3rd, before the report has come; it arrives on the 4th and is in the
// export of the 4th (selected by its signing time alone, it was in none).
func TestTheExportTakenOncePerDayHoldsAReportThatCameLate(t *testing.T) {
	reg := newRegistry(t)
	v, tw, co := newOffice(t, village, reg), newOffice(t, township, reg), newOffice(t, county, reg)
	v.now = day(3, 2, 10)
	r := firstReportOf(v, "ZZZZZZ", 10*time.Minute)
	if res := v.putCmd(putReport(r)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if res := v.putCmd(putReport(duty.Sign(r, "leader", "带班领导", v.now))); res.Err != nil {
		t.Fatal(res.Err)
	}
	exported := map[string]bool{}
	export := func(d int) {
		from := day(3, d, 0)
		got, err := co.book.MattersReported(county, from, from.AddDate(0, 0, 1))
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range got {
			exported[h.GetReport().GetId()] = true
		}
	}
	export(2) // taken on 3 March: the village is cut off
	v.now, tw.now, co.now = day(3, 4, 9), day(3, 4, 9), day(3, 4, 9)
	deliver(t, v, tw)
	deliver(t, tw, co)
	if _, ok := co.book.Report(r.GetId()); !ok {
		t.Fatal("the report did not reach the county")
	}
	export(3)
	export(4) // taken on 5 March
	if !exported[r.GetId()] {
		t.Errorf("report %s, signed on 2 March and held at the county from 4 March, is in none of the county's daily exports of 2, 3 and 4 March, each taken once after its day", r.GetId())
	}
}
