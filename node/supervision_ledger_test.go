package node_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// The county's workbook (an admin's, the whole county: the 监察 page's
// 导出) counts in 统计 a case filed and accepted at a village, which
// never passed through the county office: its 办件台账 lists it, so 合计
// 收件 and the ledger reconcile. With office_only, figures and ledger
// are the county office's own (none). A county clerk, who reads the
// county office's records only, gets the office's own ledger, and the
// sheet says so.
func TestCountyWorkbookLedgerListsTheCasesItsFiguresCount(t *testing.T) {
	f := newTunedCaseFed(t, 1, nil)
	ctx := f.admin.ctx()
	item := tobacco()
	item.Code, item.Name, item.ExerciseTier = "450122-YC-178", "烟草零售点变更备案", yizhanv1.Tier_TIER_VILLAGE
	item.StatutoryLimitDays, item.PromisedLimitDays = 5, 2
	if _, err := f.admin.reg.CreateItem(ctx, &yizhanv1.CreateItemRequest{Item: item}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: &yizhanv1.Grant{ItemCode: item.Code, Tier: yizhanv1.Tier_TIER_VILLAGE,
		Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_REVIEW, yizhanv1.Right_RIGHT_APPROVE, yizhanv1.Right_RIGHT_DELIVER}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "dc-clerk", Name: "黄小红",
		OfficeCode: dongcun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}, Password: password}); err != nil {
		t.Fatal(err)
	}
	vil := f.nodes["dongcun-1"]
	idx := f.nodes["county-1"].Registry().Index()
	waitFor(t, "the village has the item and the clerk", func() bool { return vil.Registry().Index() >= idx }, 20*time.Second)
	clerk := dial(t, vil).login("dc-clerk", password)
	r, err := caseClient(t, clerk).FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{ItemCode: item.Code,
		Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	n := r.GetCase().GetNumber()
	filed := r.GetCase().GetFiledAt().AsTime().In(registry.CST).Format("2006-01-02")
	if _, err := caseClient(t, clerk).Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n}); err != nil {
		t.Fatal(err)
	}
	countyBook := f.nodes["county-1"].Office().Cases()
	waitFor(t, "the county's mirror", func() bool {
		c, ok := countyBook.Case(n)
		return ok && c.GetState() == yizhanv1.CaseState_CASE_STATE_ACCEPTED
	}, 20*time.Second)
	workbook := func(c *client, req *yizhanv1.GetStatisticsRequest) (received string, ledger [][]string, notice string) {
		t.Helper()
		body, err := yizhanv1.NewSupervisionServiceClient(c.conn).ExportStatistics(c.ctx(), req)
		if err != nil {
			t.Fatal(err)
		}
		x, err := excelize.OpenReader(bytes.NewReader(body.GetData()))
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		all, err := x.GetRows("统计")
		if err != nil || len(all) < 4 {
			t.Fatalf("统计: %q %v", all, err)
		}
		if len(all[1]) > 0 {
			notice = all[1][0]
		}
		header, total := all[2], all[len(all)-1] // 合计 last
		if i := slices.Index(header, "收件"); total[0] == "合计" && i >= 0 && i < len(total) {
			received = total[i]
		}
		ledger, _ = x.GetRows("办件台账")
		return received, ledger[1:], notice
	}
	admin := dial(t, f.countyLeader()).login("admin", password)
	received, ledger, _ := workbook(admin, &yizhanv1.GetStatisticsRequest{From: filed, To: filed})
	if received != "1" || len(ledger) != 1 || ledger[0][0] != n {
		t.Errorf("the county's workbook: 合计 收件 %s, 办件台账 %q; want 1 and the village's case %s", received, ledger, n)
	}
	received, ledger, _ = workbook(admin, &yizhanv1.GetStatisticsRequest{From: filed, To: filed, OfficeOnly: true})
	if received != "0" || len(ledger) != 0 {
		t.Errorf("the county office's own workbook: 合计 收件 %s, 办件台账 %q; want 0 and none", received, ledger)
	}
	countyClerk := dial(t, f.countyLeader()).login("clerk", password)
	received, ledger, notice := workbook(countyClerk, &yizhanv1.GetStatisticsRequest{From: filed, To: filed})
	if received != "1" || len(ledger) != 0 || !strings.Contains(notice, "办件台账仅列本单位经手的办件") {
		t.Errorf("a county clerk's workbook: 合计 收件 %s, 办件台账 %q, notice %q; want 1, the office's own (none), and a notice saying so", received, ledger, notice)
	}
}
