package node_test

// The statistics workbook (GET /v1/statistics:export, the 监察 page's 导出)
// against the seed's report figures (第四篇 三、主要成效: 受理办结…件,
// 接待来人来电咨询…人次, 平均日办结率, 承诺提速, 办理提速).

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/registry"
)

// townshipDayWorkbook sets up a township item decided on the spot at the
// township (accepted and decided the same day) and one accepted at the
// village and left open, and returns the township clerk's workbook of
// today (the 监察 page's export: by department, the township with its
// villages) and the day.
func townshipDayWorkbook(t *testing.T) (*excelize.File, string) {
	now := time.Now().In(registry.CST)
	noon := time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, registry.CST)
	start := time.Now()
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.Now = func() time.Time { return noon.Add(time.Since(start)) }
	})
	ctx := f.admin.ctx()
	item := tobacco()
	item.Code, item.Name, item.ExerciseTier = "450122-YC-177", "烟草零售点变更备案", yizhanv1.Tier_TIER_TOWNSHIP
	item.StatutoryLimitDays, item.PromisedLimitDays = 5, 2
	if _, err := f.admin.reg.CreateItem(ctx, &yizhanv1.CreateItemRequest{Item: item}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []*yizhanv1.Grant{
		{ItemCode: item.Code, OfficeCode: township, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_REVIEW, yizhanv1.Right_RIGHT_APPROVE, yizhanv1.Right_RIGHT_DELIVER}},
		{ItemCode: item.Code, OfficeCode: dongcun, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_REVIEW, yizhanv1.Right_RIGHT_APPROVE, yizhanv1.Right_RIGHT_DELIVER}},
	} {
		if _, err := f.admin.reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: g}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*yizhanv1.StaffMember{
		{Username: "tw-clerk", Name: "李明", OfficeCode: township, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_REVIEWER}},
		{Username: "tw-approver", Name: "张华", OfficeCode: township, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_APPROVER}},
		{Username: "dc-clerk", Name: "黄小红", OfficeCode: dongcun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}},
	} {
		if _, err := f.admin.reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Staff: s, Password: password}); err != nil {
			t.Fatal(err)
		}
	}
	tw, vil := f.nodes["chengguan-1"], f.nodes["dongcun-1"]
	idx := f.nodes["county-1"].Registry().Index()
	waitFor(t, "the township and the village have the item and staff", func() bool {
		return tw.Registry().Index() >= idx && vil.Registry().Index() >= idx
	}, 20*time.Second)
	file := func(c *client) string {
		t.Helper()
		r, err := caseClient(t, c).FileCase(c.ctx(), &yizhanv1.FileCaseRequest{ItemCode: item.Code,
			Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		n := r.GetCase().GetNumber()
		if _, err := caseClient(t, c).Accept(c.ctx(), &yizhanv1.CaseActionRequest{Number: n}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	twClerk := dial(t, tw).login("tw-clerk", password)
	tn := file(twClerk)
	if _, err := caseClient(t, twClerk).Review(twClerk.ctx(), &yizhanv1.CaseActionRequest{Number: tn, Agrees: true, Reason: "同意"}); err != nil {
		t.Fatal(err)
	}
	twApprover := dial(t, tw).login("tw-approver", password)
	if _, err := caseClient(t, twApprover).Decide(twApprover.ctx(), &yizhanv1.CaseActionRequest{Number: tn, Approved: true, Reason: "符合条件"}); err != nil {
		t.Fatal(err)
	}
	vn := file(dial(t, vil).login("dc-clerk", password))
	twBook := tw.Office().Cases()
	waitFor(t, "the township's mirror of the village's case", func() bool {
		c, ok := twBook.Case(vn)
		return ok && c.GetState() == yizhanv1.CaseState_CASE_STATE_ACCEPTED
	}, 20*time.Second)
	today := noon.Format("2006-01-02")
	sup := yizhanv1.NewSupervisionServiceClient(twClerk.conn)
	for _, ch := range []yizhanv1.ConsultationChannel{yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_IN_PERSON, yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE} {
		if _, err := sup.RecordConsultation(twClerk.ctx(), &yizhanv1.RecordConsultationRequest{Channel: ch, Question: "开小卖部要办什么证?", Answer: "烟草专卖零售许可证。"}); err != nil {
			t.Fatal(err)
		}
	}
	body, err := sup.ExportStatistics(twClerk.ctx(), &yizhanv1.GetStatisticsRequest{From: today, To: today})
	if err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(body.GetData()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x, today
}

// statisticsSheet is the 统计 sheet: its header row and its rows by their first
// cell (合计 for the total).
func statisticsSheet(t *testing.T, x *excelize.File) (header []string, rows map[string][]string) {
	t.Helper()
	all, err := x.GetRows("统计")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 4 {
		t.Fatalf("统计: %q", all)
	}
	header, rows = all[2], map[string][]string{}
	for _, r := range all[3:] {
		if len(r) > 0 {
			rows[r[0]] = r
		}
	}
	return header, rows
}

func sheetCell(header, row []string, name string) string {
	i := slices.Index(header, name)
	if i < 0 || i >= len(row) {
		return ""
	}
	return row[i]
}

// A township's workbook, grouped by department: the department's row
// has its 当日办结率 (two acceptances of the day, one decided on the day)
// and no 平均当日办结率, which needs the department's daily series that
// only the county keeps: "—", not 0.00%; the total has both.
func TestTheWorkbookLeavesARateNotKeptForARowAsADash(t *testing.T) {
	x, _ := townshipDayWorkbook(t)
	header, rows := statisticsSheet(t, x)
	yc, total := rows["yc"], rows["合计"]
	if yc == nil {
		t.Fatalf("no row of department yc: %v", rows)
	}
	if got := sheetCell(header, yc, "当日办结率"); got != "50.00%" {
		t.Errorf("department yc's 当日办结率 %q, want 50.00%%", got)
	}
	if got := sheetCell(header, yc, "平均当日办结率"); got != "—" {
		t.Errorf("department yc's 平均当日办结率 %q, want — (not kept for a department's row below the county)", got)
	}
	if got := sheetCell(header, total, "平均当日办结率"); got != "50.00%" {
		t.Errorf("合计 平均当日办结率 %q, want 50.00%%", got)
	}
}

// A rate of nothing is no rate: with no rating there is no 满意率, with no
// follow-up replied no 答复及时率. The workbook writes "—" (0.00% read as
// "nobody satisfied"), and the rates that have something to divide write
// their number.
func TestTheWorkbookWritesNoRateOfNothing(t *testing.T) {
	x, _ := townshipDayWorkbook(t)
	header, rows := statisticsSheet(t, x)
	total := rows["合计"]
	if n := sheetCell(header, total, "评价数"); n != "0" {
		t.Fatalf("setup: 评价数 %q", n)
	}
	for _, name := range []string{"满意率", "答复及时率"} {
		if got := sheetCell(header, total, name); got != "—" {
			t.Errorf("合计 %s %q, want — (nothing to divide by)", name, got)
		}
	}
	for name, want := range map[string]string{"按时办结率": "100.00%", "当日办结率": "50.00%"} {
		if got := sheetCell(header, total, name); got != want {
			t.Errorf("合计 %s %q, want %s", name, got, want)
		}
	}
}

// The seed counts "接待来人来电咨询1386人次": people who came or called,
// not the questions left online; and a county reconciles 受理 with 办结
// and what was withdrawn (撤回, of which 逾期未补正). The workbook has a
// column for each.
func TestTheWorkbookHasTheSeedsConsultationsAndTheWithdrawn(t *testing.T) {
	x, _ := townshipDayWorkbook(t)
	header, rows := statisticsSheet(t, x)
	total := rows["合计"]
	for name, want := range map[string]string{"来人来电咨询": "2", "网上留言咨询": "0", "咨询量": "2", "撤回": "0", "其中逾期未补正": "0"} {
		if !slices.Contains(header, name) {
			t.Errorf("统计 has no column %s: %q", name, header)
			continue
		}
		if got := sheetCell(header, total, name); got != want {
			t.Errorf("合计 %s %q, want %s", name, got, want)
		}
	}
}
