package mail

import (
	"testing"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/duty"
)

// Only urgent records come past the office between: a village's case, or
// a call mixing one with a report, is refused from below the county's
// child, as is anything from an office not below the receiver.
func TestOnlyUrgentRecordsComePastTheOfficeBetween(t *testing.T) {
	const county, township, village, otherTownship = "450122000000", "450122101000", "450122101203", "450122102000"
	report := &peerv1.CaseMessage{CaseNumber: "BG-450122101203-20261201-ABCDEF", FromOffice: village,
		Report: &yizhanv1.UrgentReport{Id: "BG-450122101203-20261201-ABCDEF"}}
	if !duty.IsReportID(report.GetCaseNumber()) {
		t.Fatalf("setup: %s is not a report's id", report.GetCaseNumber())
	}
	flag := &peerv1.CaseMessage{CaseNumber: duty.UnsignedFlagID(report.GetCaseNumber()), FromOffice: village,
		UnsignedFlag: &yizhanv1.UnsignedReportFlag{Id: duty.UnsignedFlagID(report.GetCaseNumber())}}
	aCase := &peerv1.CaseMessage{CaseNumber: "450122101203-20261201-0001", FromOffice: village}
	call := func(ms ...*peerv1.CaseMessage) *peerv1.DeliverCasesRequest {
		return &peerv1.DeliverCasesRequest{Messages: ms}
	}
	for _, tc := range []struct {
		name      string
		from, to  string
		req       *peerv1.DeliverCasesRequest
		mayGoPast bool
	}{
		{"a report and a flag from a village to its county", village, county, call(report, flag), true},
		{"a case from a village to its county", village, county, call(aCase), false},
		{"a report with a case", village, county, call(report, aCase), false},
		{"nothing", village, county, call(), false},
		{"a report to a township not above the village", village, otherTownship, call(report), false},
		{"a report from the county down", county, village, call(report), false},
		{"a report to itself", village, village, call(report), false},
		{"a report claiming a flag's id", village, county, call(&peerv1.CaseMessage{CaseNumber: aCase.GetCaseNumber(), Report: report.GetReport()}), false},
		{"from the child (a neighbour, not past)", township, county, call(report), true},
	} {
		if got := urgentFromBelow(tc.from, tc.to, tc.req); got != tc.mayGoPast {
			t.Errorf("%s: may come past %v, want %v", tc.name, got, tc.mayGoPast)
		}
	}
}
