package node_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The consultations and the urgent reports are listed a page at a time,
// as the cases are: a client (the web UI said 仅显示前 N 条) reached only
// the first page. Followed from page to page, each listing gives its
// whole list in its order, each record once; a page token it did not
// give out, or one of another listing, is refused, naming page_token.
func TestConsultationsAndReportsAreListedAPageAtATime(t *testing.T) {
	f := dutyFed(t, nil)
	countyNode := f.nodes["county-1"]
	sup := yizhanv1.NewSupervisionServiceClient(f.admin.conn)
	duty := yizhanv1.NewDutyServiceClient(f.admin.conn)
	officer := dial(t, countyNode).login("county-duty", password)
	oduty := yizhanv1.NewDutyServiceClient(officer.conn)
	citizen := dial(t, countyNode)
	csup := yizhanv1.NewSupervisionServiceClient(citizen.conn)

	for i := range 7 {
		if _, err := sup.RecordConsultation(f.admin.ctx(), &yizhanv1.RecordConsultationRequest{Channel: yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE,
			Question: fmt.Sprintf("第 %d 个问题", i+1), Answer: "已答复。"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if _, err := csup.AskQuestion(citizen.ctx(), &yizhanv1.AskQuestionRequest{ItemCode: tobacco().Code,
			Question: fmt.Sprintf("网上第 %d 问", i+1)}); err != nil {
			t.Fatal(err)
		}
	}
	var first *yizhanv1.UrgentReport
	for i := range 5 {
		r := firstReport(time.Now().Add(-time.Duration(30+i) * time.Minute))
		r.Title = fmt.Sprintf("县城第 %d 起滑坡", i+1)
		w, err := oduty.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: r})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = w.GetReport()
		}
	}

	consultations := func(req *yizhanv1.ListConsultationsRequest) ([]string, string, error) {
		resp, err := sup.ListConsultations(f.admin.ctx(), req)
		var ids []string
		for _, c := range resp.GetConsultations() {
			ids = append(ids, c.GetId())
		}
		return ids, resp.GetNextPageToken(), err
	}
	reports := func(req *yizhanv1.ListReportsRequest) ([]string, string, error) {
		resp, err := duty.ListReports(f.admin.ctx(), req)
		var ids []string
		for _, h := range resp.GetReports() {
			ids = append(ids, h.GetReport().GetId())
		}
		return ids, resp.GetNextPageToken(), err
	}
	// walk follows a listing from page to page, two records a page.
	walk := func(name string, want int, list func(size int32, token string) ([]string, string, error)) {
		t.Helper()
		whole, next, err := list(0, "")
		if err != nil || len(whole) != want || next != "" {
			t.Fatalf("%s in one page: %d, next %q, %v; want %d and no next page", name, len(whole), next, err, want)
		}
		var paged []string
		token := ""
		for pages := 1; ; pages++ {
			ids, next, err := list(2, token)
			if err != nil {
				t.Fatalf("%s, page %d: %v", name, pages, err)
			}
			if len(ids) > 2 || (next != "" && len(ids) == 0) || pages > want {
				t.Fatalf("%s, page %d: %d records, next %q", name, pages, len(ids), next)
			}
			paged = append(paged, ids...)
			if next == "" {
				break
			}
			token = next
		}
		if !slices.Equal(paged, whole) {
			t.Errorf("%s page by page: %v; want %v, each once in order", name, paged, whole)
		}
	}
	walk("the consultations", 10, func(n int32, token string) ([]string, string, error) {
		return consultations(&yizhanv1.ListConsultationsRequest{PageSize: n, PageToken: token})
	})
	walk("the questions awaiting an answer", 3, func(n int32, token string) ([]string, string, error) {
		return consultations(&yizhanv1.ListConsultationsRequest{AwaitingAnswer: true, PageSize: n, PageToken: token})
	})
	walk("the reports", 5, func(n int32, token string) ([]string, string, error) {
		return reports(&yizhanv1.ListReportsRequest{PageSize: n, PageToken: token})
	})
	walk("the drafts", 5, func(n int32, token string) ([]string, string, error) {
		return reports(&yizhanv1.ListReportsRequest{State: yizhanv1.ReportState_REPORT_STATE_DRAFT, PageSize: n, PageToken: token})
	})

	// Tokens not given out, and a listing's token given to another.
	_, ctoken, err := consultations(&yizhanv1.ListConsultationsRequest{PageSize: 1})
	if err != nil || ctoken == "" {
		t.Fatalf("a consultations' token: %q, %v", ctoken, err)
	}
	_, rtoken, err := reports(&yizhanv1.ListReportsRequest{PageSize: 1})
	if err != nil || rtoken == "" {
		t.Fatalf("a reports' token: %q, %v", rtoken, err)
	}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"consultations, a token not given", func() error {
			_, _, err := consultations(&yizhanv1.ListConsultationsRequest{PageToken: "第二页"})
			return err
		}},
		{"consultations, a report's token", func() error {
			_, _, err := consultations(&yizhanv1.ListConsultationsRequest{PageToken: rtoken})
			return err
		}},
		{"the awaiting questions, the consultations' token", func() error {
			_, _, err := consultations(&yizhanv1.ListConsultationsRequest{AwaitingAnswer: true, PageToken: ctoken})
			return err
		}},
		{"reports, a token not given", func() error {
			_, _, err := reports(&yizhanv1.ListReportsRequest{PageToken: "AAAA"})
			return err
		}},
		{"reports, a consultation's token", func() error {
			_, _, err := reports(&yizhanv1.ListReportsRequest{PageToken: ctoken})
			return err
		}},
		{"a matter's reports, the reports' token", func() error {
			_, _, err := reports(&yizhanv1.ListReportsRequest{FirstId: first.GetId(), PageToken: rtoken})
			return err
		}},
	} {
		if code, field := fieldOf(tc.call()); code != codes.InvalidArgument || field != "page_token" {
			t.Errorf("%s: %v naming %q; want INVALID_ARGUMENT naming page_token", tc.name, code, field)
		}
	}
}
