package duty

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

func TestReportRules(t *testing.T) {
	now := time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC)
	const village = "450122101203"
	r := &yizhanv1.UrgentReport{Id: ReportID(village, now, "ABCDEF"), OfficeCode: village, Kind: yizhanv1.ReportKind_REPORT_KIND_FIRST,
		Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_ACCIDENT, Level: yizhanv1.IncidentLevel_INCIDENT_LEVEL_IV,
		Title: "村道货车侧翻", Place: "东村村道", Details: "货车侧翻，司机受轻伤", OccurredAt: timestamppb.New(now.Add(-20 * time.Minute)),
		WrittenAt: timestamppb.New(now), State: yizhanv1.ReportState_REPORT_STATE_DRAFT, Version: 1, Reporter: "duty"}
	if err := CheckContent(r, now); err != nil {
		t.Fatal(err)
	}
	if err := Check(r); err != nil {
		t.Fatal(err)
	}
	if !IsReportID(r.GetId()) || ReportOffice(r.GetId()) != village || IsReportID("450122101203-20261201-0001") {
		t.Errorf("ids: %s", r.GetId())
	}
	for name, mod := range map[string]func(*yizhanv1.UrgentReport){
		"report.title":       func(r *yizhanv1.UrgentReport) { r.Title = " " },
		"report.category":    func(r *yizhanv1.UrgentReport) { r.Category = 0 },
		"report.level":       func(r *yizhanv1.UrgentReport) { r.Level = 9 },
		"report.deaths":      func(r *yizhanv1.UrgentReport) { r.Deaths = -1 },
		"report.occurred_at": func(r *yizhanv1.UrgentReport) { r.OccurredAt = timestamppb.New(now.Add(time.Hour)) },
		"report.known_at":    func(r *yizhanv1.UrgentReport) { r.KnownAt = timestamppb.New(now.Add(-time.Hour)) },
		"report.first_id":    func(r *yizhanv1.UrgentReport) { r.Kind = yizhanv1.ReportKind_REPORT_KIND_FINAL },
		"report.contact":     func(r *yizhanv1.UrgentReport) { r.Contact = "139\x07" },
		"report.place":       func(r *yizhanv1.UrgentReport) { r.Place = "东村\n后山" }, // a line
		"report.details":     func(r *yizhanv1.UrgentReport) { r.Details = "滑坡\x00\x1b[2J" },
		"report.losses":      func(r *yizhanv1.UrgentReport) { r.Losses = "\xff" },
	} {
		c := proto.CloneOf(r)
		mod(c)
		err := CheckContent(c, now)
		if fe, ok := err.(*FieldError); !ok || fe.Field != name {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The hour: signed within it on time, after it late.
	if Late(r, now) || !Late(r, now.Add(41*time.Minute)) {
		t.Errorf("due %v: late at now %v, an hour on %v", Due(r), Late(r, now), Late(r, now.Add(41*time.Minute)))
	}
	follow := proto.CloneOf(r)
	follow.Kind, follow.FirstId = yizhanv1.ReportKind_REPORT_KIND_FOLLOW_UP, r.GetId()
	if Late(follow, now.Add(48*time.Hour)) {
		t.Error("a follow-up has the first report's hour")
	}
	signed := Sign(r, "leader", "带班领导", now)
	if err := Check(signed); err != nil {
		t.Fatal(err)
	}
	if err := Changes(signed, r); err != nil {
		t.Errorf("signing a draft: %v", err)
	}
	again := proto.CloneOf(signed)
	again.Version++
	if Changes(again, signed) == nil {
		t.Error("a signed report changed")
	}
	other := proto.CloneOf(r)
	other.Version, other.Reporter = 2, "someone"
	if Changes(other, r) == nil {
		t.Error("a change of the writer was taken")
	}
	a := &yizhanv1.ReportAck{Id: AckID("450122000000", r.GetId()), ReportId: r.GetId(), OfficeCode: "450122000000", By: "duty", At: timestamppb.New(now)}
	if err := CheckAck(a); err != nil || !IsAckID(a.GetId()) {
		t.Errorf("ack: %v", err)
	}
	if string(Hash(signed)) == string(Hash(r)) {
		t.Error("the signed report hashes as the draft")
	}
}

func TestLimitMinutes(t *testing.T) {
	nd, acc := yizhanv1.IncidentCategory_INCIDENT_CATEGORY_NATURAL_DISASTER, yizhanv1.IncidentCategory_INCIDENT_CATEGORY_ACCIDENT
	p := &yizhanv1.DutyPolicy{FirstReportMinutes: 90, Limits: []*yizhanv1.ReportLimit{
		{Category: nd, Minutes: 45}, {Category: nd, Level: yizhanv1.IncidentLevel_INCIDENT_LEVEL_I, Minutes: 20}}}
	for _, tc := range []struct {
		c    yizhanv1.IncidentCategory
		l    yizhanv1.IncidentLevel
		want int32
	}{
		{nd, yizhanv1.IncidentLevel_INCIDENT_LEVEL_I, 20},  // the category and level
		{nd, yizhanv1.IncidentLevel_INCIDENT_LEVEL_IV, 45}, // the category
		{acc, yizhanv1.IncidentLevel_INCIDENT_LEVEL_I, 90}, // the county's for every report
	} {
		if got := LimitMinutes(p, tc.c, tc.l); got != tc.want {
			t.Errorf("%v %v: %d minutes, want %d", tc.c, tc.l, got, tc.want)
		}
	}
	if got := LimitMinutes(&yizhanv1.DutyPolicy{}, nd, yizhanv1.IncidentLevel_INCIDENT_LEVEL_I); got != 0 {
		t.Errorf("no policy: %d", got)
	}
	r := &yizhanv1.UrgentReport{Kind: yizhanv1.ReportKind_REPORT_KIND_FIRST, OccurredAt: timestamppb.New(time.Unix(0, 0)), LimitMinutes: 20}
	if !Due(r).Equal(time.Unix(20*60, 0)) {
		t.Errorf("due %v under a 20-minute limit", Due(r))
	}
	r.LimitMinutes = 0
	if !Due(r).Equal(time.Unix(3600, 0)) {
		t.Errorf("due %v with no limit: want the hour", Due(r))
	}
}

// A landslide in the night, found at dawn and reported twenty minutes
// later, is reported in time: the hour runs from when the office learnt
// of it (known_at), as DOMAIN.md says, and from when it happened when
// that is not given or later. Found at dawn and reported two hours after,
// it is late, and flagged unsigned once its hour from dawn has passed.
func TestTheFirstReportsHourRunsFromWhenItBecameKnown(t *testing.T) {
	now := time.Date(2026, 12, 1, 6, 30, 0, 0, time.UTC)
	const village = "450122101203"
	r := &yizhanv1.UrgentReport{Id: ReportID(village, now, "ABCDEF"), OfficeCode: village, Kind: yizhanv1.ReportKind_REPORT_KIND_FIRST,
		Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_NATURAL_DISASTER, Level: yizhanv1.IncidentLevel_INCIDENT_LEVEL_IV,
		Title: "东村后山夜间滑坡", Place: "东村后山三组", Details: "夜间山体滑坡，清晨巡查发现",
		OccurredAt: timestamppb.New(now.Add(-4 * time.Hour)), KnownAt: timestamppb.New(now.Add(-20 * time.Minute)),
		WrittenAt: timestamppb.New(now), State: yizhanv1.ReportState_REPORT_STATE_DRAFT, Version: 1, Reporter: "duty"}
	if err := CheckContent(r, now); err != nil {
		t.Fatal(err)
	}
	if want := now.Add(40 * time.Minute); !Due(r).Equal(want) {
		t.Errorf("due %s, want %s: an hour after it became known", Due(r).Format("15:04"), want.Format("15:04"))
	}
	if Late(r, now) {
		t.Errorf("a first report signed 20 minutes after the event became known is late (迟报)")
	}
	if f, ok := UnsignedFlag(r, now.Add(time.Minute)); ok {
		t.Errorf("a draft 21 minutes after the event became known is flagged unsigned past its deadline, due %s", f.GetDue().AsTime().Format("15:04"))
	}
	if !Late(r, now.Add(2*time.Hour)) {
		t.Errorf("signed two hours after it became known: not late")
	}
	if _, ok := UnsignedFlag(r, now.Add(2*time.Hour)); !ok {
		t.Errorf("a draft two hours after it became known is not flagged unsigned")
	}
	r.KnownAt = nil
	if want := now.Add(-3 * time.Hour); !Due(r).Equal(want) {
		t.Errorf("without the time it became known: due %s, want %s, an hour after it happened", Due(r).Format("15:04"), want.Format("15:04"))
	}
}
