package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// A case handed up the tree is reported (上报), down it is sent (下发).
func TestAbove(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"450122000000", "450122101000", true},  // county above township
		{"450122000000", "450122101203", true},  // county above village
		{"450122101000", "450122101203", true},  // township above its village
		{"450122101000", "450122102203", false}, // not another township's village
		{"450122101203", "450122101000", false}, // a village is below
		{"450122101000", "450122101000", false}, // itself
	} {
		if got := above(tt.a, tt.b); got != tt.want {
			t.Errorf("above(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// 准予/不予许可 belong to licences alone; every other type of item has
// its own words, and nothing says 「不予准予」.
func TestDecisionWordsFollowTheItemType(t *testing.T) {
	for t1, name := range itemTypeNames {
		w := wordsFor(t1)
		licence := t1 == yizhanv1.ItemType_ITEM_TYPE_LICENCE
		for _, s := range []string{w.Yes, w.No, w.YesDoc, w.NoDoc} {
			if s == "" || strings.Contains(s, "不予准予") {
				t.Errorf("%s: word %q", name, s)
			}
			if strings.Contains(s, "许可") != licence {
				t.Errorf("%s: %q speaks of 许可", name, s)
			}
		}
		if got := stateName(yizhanv1.CaseState_CASE_STATE_DENIED, t1); got != w.No {
			t.Errorf("%s: a denied case reads %q, want %q", name, got, w.No)
		}
	}
	if got := stateName(yizhanv1.CaseState_CASE_STATE_APPROVED, yizhanv1.ItemType_ITEM_TYPE_CONFIRMATION); got != "予以确认" {
		t.Errorf("a confirmed registration reads %q", got)
	}
	if got := stateName(yizhanv1.CaseState_CASE_STATE_FILED, yizhanv1.ItemType_ITEM_TYPE_LICENCE); got != "待受理" {
		t.Errorf("a filed case reads %q", got)
	}
}

// A document's number names its kind, the year and the case.
func TestDocumentNumber(t *testing.T) {
	e := &eventView{Date: time.Date(2026, 12, 2, 9, 0, 0, 0, china)}
	if got := documentNumber(docAccept, e, "450122000000-20261202-0001"); got != "受字〔2026〕450122000000-20261202-0001号" {
		t.Errorf("documentNumber = %q", got)
	}
}

// The county's documents are in the item's department's name; an
// office below in its authority's, else its own.
func TestIssuer(t *testing.T) {
	d := &caseData{Item: &yizhanv1.Item{DepartmentCode: "yc"}, Depts: map[string]string{"yc": "青山县烟草专卖局"}}
	for _, tt := range []struct {
		o    *yizhanv1.Office
		want string
	}{
		{&yizhanv1.Office{Name: "青山县政务服务中心", Tier: yizhanv1.Tier_TIER_COUNTY}, "青山县烟草专卖局"},
		{&yizhanv1.Office{Name: "城关镇便民服务中心", Tier: yizhanv1.Tier_TIER_TOWNSHIP, Authority: "城关镇人民政府"}, "城关镇人民政府"},
		{&yizhanv1.Office{Name: "东村便民服务站", Tier: yizhanv1.Tier_TIER_VILLAGE}, "东村便民服务站"},
	} {
		if got := issuer(tt.o, d); got != tt.want {
			t.Errorf("issuer(%s) = %q, want %q", tt.o.GetName(), got, tt.want)
		}
	}
}

// The item's one-page guide (办事指南) a window hands out: the item,
// the department that acts, the materials with their form and copies,
// the time limits and the phones.
func TestItemGuide(t *testing.T) {
	f := newFixture(t)
	f.reg.getItem = func(req *yizhanv1.GetItemRequest) (*yizhanv1.GetItemResponse, error) {
		return &yizhanv1.GetItemResponse{Item: &yizhanv1.Item{Code: req.GetCode(), Name: "烟草专卖零售许可证核发", Version: 2,
			Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE, DepartmentCode: "yc", StatutoryLimitDays: 20, PromisedLimitDays: 10,
			Materials: []*yizhanv1.Material{{Name: "营业执照", Form: yizhanv1.MaterialForm_MATERIAL_FORM_COPY, Copies: 1, Required: true},
				{Name: "卫生检测报告", Form: yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL, Copies: 1, Condition: "新建的场所"}},
			ConsultationPhone: "0771-6220012"}}, nil
	}
	resp, page := f.do(t, "GET", "/items/450122-YC-001/guide", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{"烟草专卖零售许可证核发 办事指南", "县烟草专卖局", "营业执照（复印件 1 份）", "卫生检测报告（原件 1 份；新建的场所时提供）",
		"法定 20 个工作日", "承诺 10 个工作日", "0771-6220012", "第 2 版"} {
		if !strings.Contains(page, want) {
			t.Errorf("the guide lacks %q", want)
		}
	}
}

// A case due today says so, not 剩 0 个工作日.
func TestClockSaysDueToday(t *testing.T) {
	running := func(left int32) *yizhanv1.Case {
		return &yizhanv1.Case{State: yizhanv1.CaseState_CASE_STATE_ACCEPTED, Deadlines: &yizhanv1.Deadlines{
			Running: true, AcceptedAt: timestamppb.Now(), PromisedDaysLeft: left}}
	}
	for left, want := range map[int32]string{0: "今日到期", 1: "剩 1 个工作日", 7: "剩 7 个工作日"} {
		if got := clockOf(running(left), time.Now(), defaultWarnDays).Left; got != want {
			t.Errorf("%d days left: %q, want %q", left, got, want)
		}
	}
}

// The route shows what is done, the step the case waits for, and what is
// still to come.
func TestRouteShowsProgress(t *testing.T) {
	route := []*yizhanv1.RouteStep{{Right: yizhanv1.Right_RIGHT_ACCEPT, OfficeCode: "t"}, {Right: yizhanv1.Right_RIGHT_REVIEW, OfficeCode: "c"},
		{Right: yizhanv1.Right_RIGHT_APPROVE, OfficeCode: "c"}, {Right: yizhanv1.Right_RIGHT_DELIVER, OfficeCode: "v"}}
	for state, want := range map[yizhanv1.CaseState]string{
		yizhanv1.CaseState_CASE_STATE_FILED:     "current next next next",
		yizhanv1.CaseState_CASE_STATE_ACCEPTED:  "done current next next",
		yizhanv1.CaseState_CASE_STATE_REVIEWED:  "done done current next",
		yizhanv1.CaseState_CASE_STATE_APPROVED:  "done done done current",
		yizhanv1.CaseState_CASE_STATE_CLOSED:    "done done done done",
		yizhanv1.CaseState_CASE_STATE_WITHDRAWN: "   ",
	} {
		var got []string
		for _, st := range routeOf(&yizhanv1.Case{State: state, Route: route}, map[string]string{}) {
			got = append(got, st.Status)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s: %q, want %q", state, strings.Join(got, " "), want)
		}
	}
}

// The stylesheet is served without CSS variables, which old browsers
// and the compatibility modes of those common in Chinese offices do not
// know: each is replaced by its value.
func TestStylesheetHasNoCSSVariables(t *testing.T) {
	f := newFixture(t)
	s := f.h.(*server)
	_, css := f.do(t, "GET", "/static/style.css?v="+s.css.hash, nil)
	if strings.Contains(css, "var(") || strings.Contains(css, "--c:") {
		t.Errorf("the stylesheet still uses CSS variables: %q", css[:min(len(css), 200)])
	}
	if !strings.Contains(css, ".top{background:#1554a4;color:#fff}") {
		t.Error("the header's colour is not in the stylesheet")
	}
	if got := string(flattenCSSVars([]byte(":root{--a:#123;--b:1px solid #fff}x{color:var(--a);border:var(--b)}y{color:var(--z)}"))); got != "x{color:#123;border:1px solid #fff}y{color:var(--z)}" {
		t.Errorf("flattenCSSVars: %q", got)
	}
}

// Every page asks the dual-core browsers for their modern engine.
func TestPagesAskForTheModernEngine(t *testing.T) {
	f := newFixture(t)
	_, page := f.do(t, "GET", "/items", nil)
	if !strings.Contains(page, `<meta name="renderer" content="webkit">`) {
		t.Error("no renderer meta tag")
	}
}

// The queue puts first what the citizen waits on (送达), then returned
// corrections, then the steps waiting for the person, then what they may
// only optionally act on (中止, 延期), then the rest.
func TestQueueRank(t *testing.T) {
	for _, tt := range []struct {
		c    *yizhanv1.Case
		want int
	}{
		{&yizhanv1.Case{State: yizhanv1.CaseState_CASE_STATE_CERTIFIED, AllowedActions: []string{"deliver"}}, 0},
		{&yizhanv1.Case{State: yizhanv1.CaseState_CASE_STATE_FILED, CorrectionNotices: 1, AllowedActions: []string{"accept"}}, 1},
		{&yizhanv1.Case{State: yizhanv1.CaseState_CASE_STATE_FILED, AllowedActions: []string{"accept"}}, 2},
		{&yizhanv1.Case{State: yizhanv1.CaseState_CASE_STATE_FILED, CorrectionNotices: 1}, 4}, // back for someone else
		{&yizhanv1.Case{State: yizhanv1.CaseState_CASE_STATE_REVIEWED, AllowedActions: []string{"suspend", "extend", "reissueQueryCode"}}, 3},
		{&yizhanv1.Case{State: yizhanv1.CaseState_CASE_STATE_REVIEWED, AllowedActions: []string{"decide", "suspend"}}, 2},
		{&yizhanv1.Case{State: yizhanv1.CaseState_CASE_STATE_ACCEPTED, AllowedActions: []string{"reissueQueryCode"}}, 4},
		{&yizhanv1.Case{State: yizhanv1.CaseState_CASE_STATE_ACCEPTED}, 4},
	} {
		if got := queueRank(tt.c); got != tt.want {
			t.Errorf("%s %v: rank %d, want %d", tt.c.GetState(), tt.c.GetAllowedActions(), got, tt.want)
		}
	}
}

// The filing form's files are read only for staff with the form's token
// in its address, and only on the filing form: the token is checked
// before a byte of the files is.
func TestFilesOnlyWithTheTokenOnTheFilingForm(t *testing.T) {
	f := newFixture(t)
	var filed atomic.Int32
	f.cases.file = func(context.Context, *yizhanv1.FileCaseRequest) (*yizhanv1.CaseResponse, error) {
		filed.Add(1)
		return &yizhanv1.CaseResponse{Case: filedCase()}, nil
	}
	_, page := f.do(t, "GET", "/cases/new?item=450122-YC-001", nil, session(agentToken))
	good := csrfOf(t, page)
	post := func(path string, cookies ...*http.Cookie) int {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		w.WriteField("item_code", "450122-YC-001")
		w.WriteField("csrf", good) // in the body: not where it is looked for
		fw, _ := w.CreateFormFile("file.申请表", "a.pdf")
		fw.Write([]byte("%PDF-1.7\n"))
		w.Close()
		req := httptest.NewRequest("POST", path, &body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		return rec.Code
	}
	for name, code := range map[string]int{
		"the token in the body only": post("/cases", session(agentToken)),
		"signed out":                 post("/cases?csrf=" + good),
		"another form":               post("/admin/items?csrf="+good, session(agentToken)),
	} {
		if code != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, code)
		}
	}
	if n := filed.Load(); n != 0 {
		t.Errorf("filed %d times", n)
	}
}

// A version's changes say which materials were added, removed or changed,
// not only that the list changed.
func TestVersionChangesNameTheMaterials(t *testing.T) {
	a := &yizhanv1.Item{Name: "x", Materials: []*yizhanv1.Material{{Name: "申请表", Copies: 1}, {Name: "户口簿", Copies: 1}, {Name: "照片", Copies: 2}},
		Aliases: []string{"烟草证"}}
	b := &yizhanv1.Item{Name: "x", Materials: []*yizhanv1.Material{{Name: "申请表", Copies: 2}, {Name: "照片", Copies: 2}, {Name: "营业执照", Copies: 1}},
		Aliases: []string{"烟草证", "卖烟"}}
	got := map[string]string{}
	for _, c := range describeChanges(a, b) {
		got[c.Field] = c.Summary
	}
	if want := "新增 营业执照；删除 户口簿；修改 申请表"; got["申请材料"] != want {
		t.Errorf("materials: %q, want %q", got["申请材料"], want)
	}
	if want := "新增 卖烟"; got["常用名（俗称）"] != want {
		t.Errorf("aliases: %q, want %q", got["常用名（俗称）"], want)
	}
}

// A filing with scans refused for its fields leaves no file behind: the
// scans are uploaded only when the office answers that it lacks them, and
// the filing is then sent again.
func TestScansAreUploadedOnlyForAFilingTheOfficeTakes(t *testing.T) {
	f := newFixture(t)
	f.reg.getItem = func(*yizhanv1.GetItemRequest) (*yizhanv1.GetItemResponse, error) {
		return &yizhanv1.GetItemResponse{Item: &yizhanv1.Item{Code: "450122-YC-001", Name: "烟草专卖零售许可证核发",
			Materials: []*yizhanv1.Material{{Name: "申请表", Required: true, Copies: 1}}}}, nil
	}
	var calls, filed atomic.Int32
	f.cases.file = func(_ context.Context, req *yizhanv1.FileCaseRequest) (*yizhanv1.CaseResponse, error) {
		calls.Add(1)
		if req.GetApplicant().GetName() == "" {
			return nil, fieldAnswer("applicant.name", "is required", reason.Required, "必填")
		}
		if err := f.cases.missingFiles(req.GetMaterials()); err != nil {
			return nil, err
		}
		filed.Add(1)
		return &yizhanv1.CaseResponse{Case: filedCase()}, nil
	}
	_, page := f.do(t, "GET", "/cases/new?item=450122-YC-001", nil, session(adminClerkToken))
	token := csrfOf(t, page)
	post := func(name string) int {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		w.WriteField("item_code", "450122-YC-001")
		w.WriteField("applicant.name", name)
		w.WriteField("materials", "申请表")
		fw, _ := w.CreateFormFile("file.申请表", "申请表.pdf")
		fw.Write([]byte("%PDF-1.7\n1 0 obj\n"))
		w.Close()
		req := httptest.NewRequest("POST", "/cases?csrf="+url.QueryEscape(token), &body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.AddCookie(session(adminClerkToken))
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := post(""); code != http.StatusBadRequest || f.cases.uploads.Load() != 0 {
		t.Errorf("a filing without a name: %d, %d uploads", code, f.cases.uploads.Load())
	}
	if code := post("黄小明"); code != http.StatusSeeOther || f.cases.uploads.Load() != 1 || filed.Load() != 1 {
		t.Errorf("a filing the office takes: %d, %d uploads, %d filed", code, f.cases.uploads.Load(), filed.Load())
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("FileCase called %d times, want 3 (refused; lacking the scan; filed)", n)
	}
}
