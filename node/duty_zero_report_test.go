package node_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Seed 第五篇: 不迟报、不缓报、不漏报、不虚报、不错报，杜绝"报喜不报忧";
// DOMAIN.md: "offices also send a daily zero report (零报告) when nothing
// happened". An office with an urgent event in hand that day — a first
// report written and waiting for its leader, or one signed — may not
// tell the office above "nothing happened today".
func TestNoZeroReportBesideAnUrgentReportOfTheDay(t *testing.T) {
	f := dutyFed(t, nil)
	addDutyStaff(t, f, &yizhanv1.StaffMember{Username: "xc-duty", Name: "韦值班", OfficeCode: xicun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_OFFICER}})
	officer := dial(t, f.nodes["dongcun-1"]).login("dc-duty", password)
	leader := dial(t, f.nodes["dongcun-1"]).login("dc-leader", password)
	xc := dial(t, f.nodes["xicun-1"]).login("xc-duty", password)

	// 西村: a first report drafted (the event is known), not yet signed.
	xd := yizhanv1.NewDutyServiceClient(xc.conn)
	if _, err := xd.WriteReport(xc.ctx(), &yizhanv1.WriteReportRequest{Report: firstReport(time.Now().Add(-10 * time.Minute))}); err != nil {
		t.Fatal(err)
	}
	if z, err := xd.SendZeroReport(xc.ctx(), &yizhanv1.SendZeroReportRequest{Note: "今日无情况"}); status.Code(err) != codes.FailedPrecondition || reasonOf(err) != "REPORT_IN_HAND" {
		t.Errorf("西村 sent a zero report (今日无情况) while its first report of a landslide waits for its leader: %v, %v; want FailedPrecondition REPORT_IN_HAND", z.GetId(), err)
	}

	// 东村: a first report signed today, then a zero report.
	vd := yizhanv1.NewDutyServiceClient(officer.conn)
	w, err := vd.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: firstReport(time.Now().Add(-10 * time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := yizhanv1.NewDutyServiceClient(leader.conn).SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: w.GetReport().GetId()}); err != nil {
		t.Fatal(err)
	}
	if z, err := vd.SendZeroReport(officer.ctx(), &yizhanv1.SendZeroReportRequest{Note: "今日无情况"}); status.Code(err) != codes.FailedPrecondition || reasonOf(err) != "REPORT_IN_HAND" {
		t.Errorf("东村 sent a zero report (今日无情况) the day it signed an urgent report: %v, %v; want FailedPrecondition REPORT_IN_HAND", z.GetId(), err)
	}
}
