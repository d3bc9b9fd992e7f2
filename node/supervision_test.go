package node_test

import (
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// A case handled at the county with a second correction notice earns a
// yellow card on every county node; the county's figures count it, by
// department; bad requests are refused naming the field, and a village
// agent may not read the county's records.
func TestStatisticsAndCardsThroughTheAPI(t *testing.T) {
	f := newCaseFed(t, 3)
	clerk := dial(t, f.countyLeader()).login("clerk", password)
	approver := dial(t, f.countyLeader()).login("approver", password)
	cases := caseClient(t, clerk)
	resp, err := cases.FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	n := resp.GetCase().GetNumber()
	step := func(name string, call func() (*yizhanv1.CaseResponse, error)) {
		t.Helper()
		if _, err := call(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for range 2 {
		step("correction", func() (*yizhanv1.CaseResponse, error) {
			return cases.RequestCorrection(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n, MissingMaterials: []string{"申请表"}, Reason: "申请表未签字"})
		})
		step("resubmit", func() (*yizhanv1.CaseResponse, error) {
			return cases.Resubmit(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n, Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
		})
	}
	step("accept", func() (*yizhanv1.CaseResponse, error) {
		return cases.Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n})
	})
	step("review", func() (*yizhanv1.CaseResponse, error) {
		return cases.Review(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n, Reason: "同意", Agrees: true})
	})
	step("decide", func() (*yizhanv1.CaseResponse, error) {
		return caseClient(t, approver).Decide(approver.ctx(), &yizhanv1.CaseActionRequest{Number: n, Approved: true, Reason: "符合条件"})
	})

	sup := yizhanv1.NewSupervisionServiceClient(f.admin.conn)
	var cards []*yizhanv1.Card
	waitFor(t, "the card", func() bool {
		r, err := sup.ListCards(f.admin.ctx(), &yizhanv1.ListCardsRequest{})
		cards = r.GetCards()
		return err == nil && len(cards) == 1
	}, 10*time.Second)
	if c := cards[0]; c.GetCaseNumber() != n || c.GetRule() != yizhanv1.CardRule_CARD_RULE_SECOND_CORRECTION ||
		c.GetColour() != yizhanv1.CardColour_CARD_COLOUR_YELLOW || c.GetOfficeCode() != county || c.GetStaff() != "clerk" || c.GetDepartmentCode() != "yc" {
		t.Errorf("the card: %v", c)
	}
	today := time.Now().In(registry.CST).Format("2006-01-02")
	st, err := sup.GetStatistics(f.admin.ctx(), &yizhanv1.GetStatisticsRequest{From: today, To: today, GroupBy: yizhanv1.Grouping_GROUPING_DEPARTMENT})
	if err != nil {
		t.Fatal(err)
	}
	if tot := st.GetTotal(); tot.GetReceived() != 1 || tot.GetAccepted() != 1 || tot.GetDecided() != 1 || tot.GetSameDayDecided() != 1 ||
		tot.GetSameDayRate() != 1 || tot.GetAverageDailySameDayRate() != 1 || tot.GetInTimeRate() != 1 || tot.GetYellowCards() != 1 {
		t.Errorf("today's figures: %v", tot)
	}
	if len(st.GetRows()) != 1 || st.GetRows()[0].GetKey() != "yc" || st.GetRows()[0].GetName() != "县烟草专卖局" || st.GetRows()[0].GetFigures().GetDecided() != 1 {
		t.Errorf("rows by department: %v", st.GetRows())
	}
	// Every node of the county holds the same card (issued in the log).
	for _, name := range []string{"county-1", "county-2", "county-3"} {
		c := dial(t, f.nodes[name]).login("admin", password)
		waitFor(t, name+" holds the card", func() bool {
			r, err := yizhanv1.NewSupervisionServiceClient(c.conn).ListCards(c.ctx(), &yizhanv1.ListCardsRequest{CaseNumber: n})
			return err == nil && len(r.GetCards()) == 1 && r.GetCards()[0].GetRule() == yizhanv1.CardRule_CARD_RULE_SECOND_CORRECTION
		}, 10*time.Second)
	}

	for _, tt := range []struct {
		req   *yizhanv1.GetStatisticsRequest
		field string
	}{
		{&yizhanv1.GetStatisticsRequest{From: "2026/03/01"}, "from"},
		{&yizhanv1.GetStatisticsRequest{From: "2026-03-02", To: "2026-03-01"}, "to"},
		{&yizhanv1.GetStatisticsRequest{From: "2000-01-01", To: "2026-03-01"}, "to"},
		{&yizhanv1.GetStatisticsRequest{GroupBy: 99}, "group_by"},
		{&yizhanv1.GetStatisticsRequest{OfficeCode: "45012"}, "office_code"},
	} {
		_, err := sup.GetStatistics(f.admin.ctx(), tt.req)
		st := status.Convert(err)
		var field string
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
				field = br.GetFieldViolations()[0].GetField()
			}
		}
		if st.Code() != codes.InvalidArgument || field != tt.field {
			t.Errorf("GetStatistics(%v): %s naming %q; want InvalidArgument naming %s", tt.req, st.Code(), field, tt.field)
		}
	}
	if _, err := sup.ListCards(f.admin.ctx(), &yizhanv1.ListCardsRequest{PageToken: "bm90IGEgdG9rZW4"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("ListCards with a made-up page token: %v", err)
	}
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	if _, err := yizhanv1.NewSupervisionServiceClient(agent.conn).GetStatistics(agent.ctx(), &yizhanv1.GetStatisticsRequest{OfficeCode: county}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a village agent reading the county's figures: %v", err)
	}
}
