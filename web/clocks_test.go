package web

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The case page tells staff where a case stands against the law's clocks
// (行政许可法 §32, §42, §44, the special procedures' limits), and shows
// every co-department's opinion before the decision: what a window
// supervisor reads first.
func TestCasePageShowsTheLawsClocksAndOpinions(t *testing.T) {
	ts := func(d time.Time) *timestamppb.Timestamp { return timestamppb.New(d) }
	yesterday, tomorrow := now.AddDate(0, 0, -1), now.AddDate(0, 0, 1)
	accepted := func(c *yizhanv1.Case, d *yizhanv1.Deadlines) {
		c.State = yizhanv1.CaseState_CASE_STATE_ACCEPTED
		d.AcceptedAt, d.PromisedDue, d.StatutoryDue = ts(now.AddDate(0, 0, -10)), ts(tomorrow), ts(now.AddDate(0, 0, 10))
	}
	for _, tc := range []struct {
		name   string
		set    func(*yizhanv1.Case, *yizhanv1.Deadlines)
		want   []string
		absent []string
	}{
		{"filed, within §32's five days",
			func(c *yizhanv1.Case, d *yizhanv1.Deadlines) { d.AcceptanceDue = ts(tomorrow) },
			[]string{`class="clock "`, "未受理，受理期限 2026-11-28"}, nil},
		{"filed, past §32's five days",
			func(c *yizhanv1.Case, d *yizhanv1.Deadlines) {
				d.AcceptanceDue, d.AcceptanceOverdue = ts(yesterday), true
			},
			[]string{`class="clock late"`, "逾期未受理（应于 2026-11-26 前受理、不予受理或告知补正）"}, nil},
		{"correction notice open",
			func(c *yizhanv1.Case, d *yizhanv1.Deadlines) {
				c.State, d.CorrectionDue = yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED, ts(tomorrow)
				c.AllowedActions = []string{"withdraw"}
			},
			[]string{"待补正，补正期限 2026-11-28", "申请人的书面撤回申请 <b class=\"req\">*</b>"},
			[]string{"可按逾期未补正撤回"}},
		{"correction notice lapsed: 逾期未补正 closes it without the written request",
			func(c *yizhanv1.Case, d *yizhanv1.Deadlines) {
				c.State, d.CorrectionDue = yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED, ts(yesterday)
				c.AllowedActions = []string{"withdraw"}
			},
			[]string{`class="clock warn"`, "补正期限已过（2026-11-26），可按逾期未补正撤回", "（补正期限已过：可按逾期未补正撤回，理由写明）"}, nil},
		{"due today",
			func(c *yizhanv1.Case, d *yizhanv1.Deadlines) { accepted(c, d); d.Running = true },
			[]string{`class="clock warn"`, "今日到期", "承诺期限 2026-11-28"}, []string{"剩 0"}},
		{"suspended in a counted procedure, past the due date",
			func(c *yizhanv1.Case, d *yizhanv1.Deadlines) {
				accepted(c, d)
				c.Suspended, d.Overdue, d.PromisedDaysLeft = true, true, -3
			},
			[]string{`class="clock late"`, "已中止，超期 3 个工作日"}, nil},
		{"suspended in a counted procedure (听证), its clock running, a day left",
			func(c *yizhanv1.Case, d *yizhanv1.Deadlines) {
				accepted(c, d)
				c.Suspended, d.Running, d.PromisedDaysLeft = true, true, 1
			},
			[]string{`class="clock warn"`, "已中止（特别程序计入时限），剩 1 个工作日"}, []string{"暂停计时"}},
		{"suspended in a procedure that stops the clock",
			func(c *yizhanv1.Case, d *yizhanv1.Deadlines) {
				accepted(c, d)
				c.Suspended, d.PromisedDaysLeft = true, 1
			},
			[]string{`class="clock "`, "已中止，暂停计时"}, nil},
		{"suspended past its procedure's own limit",
			func(c *yizhanv1.Case, d *yizhanv1.Deadlines) {
				accepted(c, d)
				c.Suspended, d.SuspensionOverLimit, d.PromisedDaysLeft = true, true, 4
			},
			[]string{`class="clock warn"`, "已中止，超过特别程序时限，请恢复办理"}, nil},
		{"decided, waiting for delivery within §44's ten days",
			func(c *yizhanv1.Case, d *yizhanv1.Deadlines) {
				accepted(c, d)
				c.State, d.DeliveryDue = yizhanv1.CaseState_CASE_STATE_APPROVED, ts(tomorrow)
			},
			[]string{"已决定，待送达，送达期限 2026-11-28"}, nil},
		{"decided, not delivered in §44's ten days",
			func(c *yizhanv1.Case, d *yizhanv1.Deadlines) {
				accepted(c, d)
				c.State, d.DeliveryDue, d.DeliveryOverdue = yizhanv1.CaseState_CASE_STATE_APPROVED, ts(yesterday), true
			},
			[]string{`class="clock late"`, "逾期未送达（送达期限 2026-11-26）"}, nil},
		{"a joint item: the co-department's 不同意 and who has not answered",
			func(c *yizhanv1.Case, d *yizhanv1.Deadlines) {
				accepted(c, d)
				d.Running, d.PromisedDaysLeft = true, 5
				c.Review = &yizhanv1.Opinion{Agrees: true, Reason: "材料齐全", ByName: "李审核"}
				c.Opinions = []*yizhanv1.Opinion{{DepartmentCode: "yc", Agrees: false, Reason: "距学校不足 50 米", ByName: "王联办"}}
				c.OpinionsPending = []string{"yc"}
			},
			[]string{"剩 5 个工作日", `<dd id="review"><b>同意</b> · 材料齐全 · 李审核</dd>`,
				`县烟草专卖局：<b><span class="warn">不同意</span></b> · 距学校不足 50 米 · 王联办`, "尚待：县烟草专卖局"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
				c := filedCase()
				c.AllowedActions = nil
				d := &yizhanv1.Deadlines{}
				tc.set(c, d)
				c.Deadlines = d
				return &yizhanv1.CaseResponse{Case: c}, nil
			}
			resp, page := f.do(t, "GET", "/cases/"+caseNumber, nil, session(adminClerkToken))
			if resp.StatusCode != 200 {
				t.Fatalf("GET the case page: %s", resp.Status)
			}
			for _, w := range tc.want {
				if !strings.Contains(page, w) {
					t.Errorf("the case page does not say %q", w)
				}
			}
			for _, w := range tc.absent {
				if strings.Contains(page, w) {
					t.Errorf("the case page says %q", w)
				}
			}
		})
	}
}

// A fee standard with a unit (每份 10 元): the assessment form asks how
// many, the case shows them, and a correction (更正收费) sends the new
// number of units with its reason.
func TestFeeUnitsOnTheCasePage(t *testing.T) {
	f := newFixture(t)
	f.reg.getItem = func(req *yizhanv1.GetItemRequest) (*yizhanv1.GetItemResponse, error) {
		return &yizhanv1.GetItemResponse{Item: &yizhanv1.Item{Code: req.GetCode(), Name: "婚姻登记记录证明", Version: 1, FeeCents: 1000, FeeUnit: "份"}}, nil
	}
	fee := &yizhanv1.Case{}
	f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		c := filedCase()
		c.State = yizhanv1.CaseState_CASE_STATE_ACCEPTED
		c.FeeCents, c.FeeUnits, c.FeeAssessed = fee.GetFeeCents(), fee.GetFeeUnits(), fee.GetFeeAssessed()
		c.AllowedActions = []string{"assessFee", "correctFee"}
		return &yizhanv1.CaseResponse{Case: c}, nil
	}
	var asked []*yizhanv1.CaseActionRequest
	f.cases.act = func(action string, req *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
		asked = append(asked, req)
		fee.FeeAssessed, fee.FeeUnits, fee.FeeCents = true, req.GetFeeUnits(), 1000*int64(req.GetFeeUnits())
		return &yizhanv1.CaseResponse{Case: filedCase()}, nil
	}
	_, page := f.do(t, "GET", "/cases/"+caseNumber, nil, session(adminClerkToken))
	for _, want := range []string{`数量（份）`, `收费标准：每份 10.00 元`, `更正后的数量（份）`} {
		if !strings.Contains(page, want) {
			t.Errorf("the case page does not say %q", want)
		}
	}
	post := func(action string, form url.Values) {
		t.Helper()
		form.Set("csrf", csrfOf(t, page))
		form.Set("action", action)
		if resp, body := f.do(t, "POST", "/cases/"+caseNumber+"/act", form, session(adminClerkToken)); resp.StatusCode >= 400 {
			t.Fatalf("%s: %s\n%s", action, resp.Status, body)
		}
	}
	post("assessFee", url.Values{"fee_units": {"3"}})
	_, page = f.do(t, "GET", "/cases/"+caseNumber, nil, session(adminClerkToken))
	if !strings.Contains(page, `<dd id="fee">30.00 元（3 份）（未缴）</dd>`) {
		t.Error("the case does not show the fee with its units")
	}
	post("correctFee", url.Values{"fee_units": {"0"}, "reason": {"依法免收"}})
	if len(asked) != 2 || asked[0].GetFeeUnits() != 3 || asked[1].GetFeeUnits() != 0 || asked[1].GetReason() != "依法免收" {
		t.Fatalf("the API was asked %v", asked)
	}
	_, page = f.do(t, "GET", "/cases/"+caseNumber, nil, session(adminClerkToken))
	if !strings.Contains(page, `<dd id="fee">免收</dd>`) {
		t.Error("a fee corrected to none does not show as 免收")
	}
}

// A correction's materials handed in with their scans (a village agent
// at the village point, or any window): the resubmit form takes files,
// with its token in its address; each scan is uploaded to the office
// and named in the request with the material it belongs to, and a
// material with a scan chosen counts as handed in, ticked or not.
func TestResubmitCarriesTheScans(t *testing.T) {
	f := newFixture(t)
	f.reg.getItem = func(req *yizhanv1.GetItemRequest) (*yizhanv1.GetItemResponse, error) {
		return &yizhanv1.GetItemResponse{Item: &yizhanv1.Item{Code: req.GetCode(), Name: "烟草专卖零售许可证核发", Version: 1,
			Materials: []*yizhanv1.Material{{Name: "申请表", Required: true}, {Name: "营业执照", Required: true}}}}, nil
	}
	f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		c := filedCase()
		c.State, c.MissingMaterials, c.AllowedActions = yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED, []string{"申请表", "营业执照"}, []string{"resubmit"}
		return &yizhanv1.CaseResponse{Case: c}, nil
	}
	var asked *yizhanv1.CaseActionRequest
	f.cases.act = func(action string, req *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
		if err := f.cases.missingFiles(req.GetMaterials()); err != nil {
			return nil, err
		}
		if action == "resubmit" {
			asked = req
		}
		return &yizhanv1.CaseResponse{Case: filedCase()}, nil
	}
	_, page := f.do(t, "GET", "/cases/"+caseNumber, nil, session(agentToken))
	if !strings.Contains(page, `enctype="multipart/form-data"`) || !strings.Contains(page, `name="file.营业执照"`) {
		t.Fatalf("the resubmit form takes no files:\n%s", page)
	}
	token := csrfOf(t, page)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("action", "resubmit")
	w.WriteField("materials", "申请表")
	fw, _ := w.CreateFormFile("file.营业执照", "licence.pdf")
	fw.Write([]byte("%PDF-1.7\n1 0 obj\n"))
	w.Close()
	req := httptest.NewRequest("POST", "/cases/"+caseNumber+"/act?csrf="+url.QueryEscape(token), &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.AddCookie(session(agentToken))
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code >= 400 {
		t.Fatalf("resubmit with a scan: %d\n%s", rec.Code, rec.Body)
	}
	if asked == nil || len(asked.GetMaterials()) != 2 {
		t.Fatalf("the API was asked %v", asked)
	}
	got := map[string]int{}
	for _, m := range asked.GetMaterials() {
		got[m.GetName()] = len(m.GetFiles())
	}
	if got["申请表"] != 0 || got["营业执照"] != 1 || asked.GetMaterials()[1].GetFiles()[0].GetContentType() != "application/pdf" {
		t.Errorf("materials handed in: %v (%v)", got, asked.GetMaterials())
	}
	if n := f.cases.uploads.Load(); n != 1 {
		t.Errorf("%d uploads, want the one scan", n)
	}
}

// The duty page says when an open matter's next follow-up is due, and
// marks it late past that; a closed matter owes none.
func TestDutyFollowUpClock(t *testing.T) {
	due := timestamppb.New(now.Add(time.Hour))
	d := dutyData{Now: now}
	if fu := d.FollowUp(&yizhanv1.HeldReport{NextFollowUpDue: due}); fu == nil || fu.Late || fu.Text != "下次续报应于 11-27 11:00 前" {
		t.Errorf("before it is due: %+v", fu)
	}
	d.Now = now.Add(2 * time.Hour)
	if fu := d.FollowUp(&yizhanv1.HeldReport{NextFollowUpDue: due}); fu == nil || !fu.Late || !strings.Contains(fu.Text, "续报已逾时") {
		t.Errorf("past it: %+v", fu)
	}
	if fu := d.FollowUp(&yizhanv1.HeldReport{NextFollowUpDue: due, Closed: true}); fu != nil {
		t.Errorf("a closed matter: %+v", fu)
	}
}

// The yellow mark comes with the county's warning days (its supervision
// policy, as the 预警 card), 2 when it names none: on the case page and
// in the queue's legend.
func TestTheYellowMarkTakesTheCountysWarningDays(t *testing.T) {
	for _, tc := range []struct {
		warningDays int32
		want        []string
	}{
		{0, []string{`class="clock "`, "剩 3 个工作日"}},
		{3, []string{`class="clock warn"`, "剩 3 个工作日"}},
	} {
		f := newFixture(t)
		f.reg.warningDays = tc.warningDays
		f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
			c := filedCase()
			c.State = yizhanv1.CaseState_CASE_STATE_ACCEPTED
			c.Deadlines = &yizhanv1.Deadlines{AcceptedAt: timestamppb.New(now.AddDate(0, 0, -10)), PromisedDue: timestamppb.New(now.AddDate(0, 0, 4)),
				Running: true, PromisedDaysLeft: 3}
			return &yizhanv1.CaseResponse{Case: c}, nil
		}
		_, page := f.do(t, "GET", "/cases/"+caseNumber, nil, session(adminClerkToken))
		for _, w := range tc.want {
			if !strings.Contains(page, w) {
				t.Errorf("warning days %d: the case page does not say %q", tc.warningDays, w)
			}
		}
		f.cases.listCases = func(*yizhanv1.ListCasesRequest) (*yizhanv1.ListCasesResponse, error) {
			return &yizhanv1.ListCasesResponse{}, nil
		}
		days := max(tc.warningDays, 2)
		if _, page := f.do(t, "GET", "/cases", nil, session(adminClerkToken)); !strings.Contains(page, fmt.Sprintf("剩余 %d 个工作日及以内", days)) {
			t.Errorf("warning days %d: the queue's legend does not say %d", tc.warningDays, days)
		}
	}
}

// The queue's filter by the days of filing lists every case the office
// holds that was filed on them (both days included, China Standard Time),
// the next page with the same days; a day the form cannot read, or an end
// before the start, is named, and nothing is asked of the book.
func TestTheQueueByFilingDays(t *testing.T) {
	f := newFixture(t)
	var asked []*yizhanv1.ListCasesRequest
	f.cases.listCases = func(req *yizhanv1.ListCasesRequest) (*yizhanv1.ListCasesResponse, error) {
		asked = append(asked, req)
		return &yizhanv1.ListCasesResponse{Cases: []*yizhanv1.Case{filedCase()}, NextPageToken: "tok"}, nil
	}
	resp, page := f.do(t, "GET", "/cases?from=2026-11-01&to=2026-11-30&overdue=1", nil, session(adminClerkToken))
	cst := time.FixedZone("CST", 8*3600)
	if resp.StatusCode != 200 || len(asked) != 1 {
		t.Fatalf("the queue by days: %d, asked %d times", resp.StatusCode, len(asked))
	}
	req := asked[0]
	if !req.GetFiledFrom().AsTime().Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, cst)) || !req.GetFiledTo().AsTime().Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, cst)) ||
		!req.GetHistory() || req.GetOverdue() {
		t.Errorf("asked %v", req)
	}
	for _, want := range []string{caseNumber, `value="2026-11-01"`, `value="2026-11-30"`, "2026-11-01 起至 2026-11-30 收件的办件", `href="/cases?all=1&amp;from=2026-11-01&amp;page=tok&amp;to=2026-11-30"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not hold %s", want)
		}
	}
	for query, want := range map[string]string{
		"from=2026-11-31":               "收件日期（起）请按“年-月-日”填写",
		"to=30/11/2026":                 "收件日期（止）请按“年-月-日”填写",
		"from=2026-11-30&to=2026-11-01": "收件日期（止）不能早于收件日期（起）",
	} {
		asked = nil
		resp, page := f.do(t, "GET", "/cases?"+query, nil, session(adminClerkToken))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, want) || len(asked) != 0 {
			t.Errorf("%s: %d, asked %d times, want 400 saying %s", query, resp.StatusCode, len(asked), want)
		}
	}
}

// A search for an applicant the API refuses (a name past its length, a
// control character) is answered 400 with the API's words for the field,
// and an empty search is the queue again.
func TestAnApplicantSearchTheAPIRefuses(t *testing.T) {
	f := newFixture(t)
	f.cases.listCases = func(req *yizhanv1.ListCasesRequest) (*yizhanv1.ListCasesResponse, error) {
		if req.GetApplicant() != "" {
			return nil, fieldAnswer("applicant", "must be at most 64 characters", "TOO_LONG", "申请人最多 64 个字")
		}
		return &yizhanv1.ListCasesResponse{}, nil
	}
	_, page := f.do(t, "GET", "/cases", nil, session(adminClerkToken))
	token := csrfOf(t, page)
	resp, body := f.do(t, "POST", "/cases/search", url.Values{"csrf": {token}, "applicant": {strings.Repeat("黄", 65)}}, session(adminClerkToken))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "申请人最多 64 个字") {
		t.Errorf("a refused search: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := f.do(t, "POST", "/cases/search", url.Values{"csrf": {token}, "applicant": {"  "}}, session(adminClerkToken)); resp.StatusCode != http.StatusSeeOther ||
		resp.Header.Get("Location") != "/cases" {
		t.Errorf("an empty search: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// A page of the history that holds no case but has a next page (the book
// read its most cases for one page, and the filter kept none) says the
// earlier cases are on the next page, and links it; the last page with no
// case says there is none.
func TestAnEmptyPageOfHistoryWithMoreToComeSaysSo(t *testing.T) {
	f := newFixture(t)
	next := "tok"
	f.cases.listCases = func(req *yizhanv1.ListCasesRequest) (*yizhanv1.ListCasesResponse, error) {
		return &yizhanv1.ListCasesResponse{NextPageToken: next}, nil
	}
	resp, page := f.do(t, "GET", "/cases?all=1&state=11", nil, session(adminClerkToken))
	if resp.StatusCode != 200 || !strings.Contains(page, "这一页没有符合条件的办件，更早的请看下一页。") || !strings.Contains(page, "page=tok") ||
		strings.Contains(page, "没有办件。") {
		t.Errorf("an empty page with a next one: %d\n%s", resp.StatusCode, page)
	}
	next = ""
	resp, page = f.do(t, "GET", "/cases?all=1&state=11", nil, session(adminClerkToken))
	if resp.StatusCode != 200 || !strings.Contains(page, "没有办件。") || strings.Contains(page, "下一页") {
		t.Errorf("the last page, empty: %d\n%s", resp.StatusCode, page)
	}
}
