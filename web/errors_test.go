package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/wrapperspb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// TestLimitsAreShownInChinese sends the violations of the input limits,
// as the registry makes them, through the API's answer (reason.BadRequest)
// to the form: each is shown in its Chinese, made from its reason and meta.
func TestLimitsAreShownInChinese(t *testing.T) {
	big := wrapperspb.String(strings.Repeat("字", 1000))
	for _, tc := range []struct {
		v    *registry.FieldViolation
		want string
	}{
		{registry.CheckLine("applicant.address", strings.Repeat("路", 201), registry.MaxAddressLen), "最多 200 个字（现为 201 个）"},
		{registry.CheckCount("item.materials", 101, registry.MaxMaterials), "最多 100 项（现为 101 项）"},
		{registry.CheckAtMost("item.materials[0].copies", 2147483647, registry.MaxCopies), "不能超过 100（现为 2147483647）"},
		{registry.CheckLine("applicant.name", "张\x00三", registry.MaxNameLen), "不能包含控制字符（第 2 个字）"},
		{registry.CheckText("reason", "材料\n齐全\x07", registry.MaxTextLen), "除换行和制表符外不能包含控制字符（第 6 个字）"},
		{registry.CheckLine("applicant.name", "\xff", registry.MaxNameLen), "含有无效的字符编码（须为 UTF-8 文本）"},
		{registry.CheckSize("", big, 100, "event"), "内容过多（共 3003 字节，最多 100 字节），请删减"},
	} {
		if tc.v == nil {
			t.Fatalf("no violation, want %q", tc.want)
		}
		errs, ok := fieldErrors(reason.BadRequest(reason.Violation(*tc.v)).Err(), "", nil)
		if got := errs.Get(tc.v.Field); !ok || got != tc.want {
			t.Errorf("%s (%s): shown %q, want %q", tc.v.Field, tc.v.Description, got, tc.want)
		}
	}
}

// TestTheUIShowsWhatTheAPISaysInChinese has the API answer with reasons
// the UI has no words of its own for: the page shows the answer's zh-CN
// text (its LocalizedMessage), never its English.
func TestTheUIShowsWhatTheAPISaysInChinese(t *testing.T) {
	const english = "case is CASE_STATE_ACCEPTED: it was accepted already: casework: failed precondition"
	newRule := reason.Build(codes.FailedPrecondition, "SOMETHING_NEW", english, reason.Meta{"state": "CASE_STATE_ACCEPTED"},
		"办件正在等待协办部门意见，暂不能不予受理。", 0).Err()
	for _, tc := range []struct {
		name string
		err  error
		code int
		want string
	}{
		{"a case's state", reason.Status(reason.CaseState, english, reason.Meta{"state": "CASE_STATE_ACCEPTED", "action": "refuse"}, 0).Err(),
			http.StatusConflict, "未办理：办件当前为“已受理”，不能不予受理。"},
		{"a reason the UI has never seen", newRule, http.StatusConflict, "未办理：办件正在等待协办部门意见，暂不能不予受理。"},
		{"a field reason the UI has never seen", fieldAnswer("legal_basis", "must cite an article", "ARTICLE_REQUIRED", "请写明所依据的具体条款"),
			http.StatusBadRequest, `id="e-refuse-legal_basis">请写明所依据的具体条款`},
		{"the outcome unknown", reason.Err(reason.OutcomeUnknown, "federation: leadership lost while the write was in flight"),
			http.StatusServiceUnavailable, "无法确定操作是否已经生效"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.cases.refuse = func(*yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) { return nil, tc.err }
			_, page := f.do(t, "GET", "/cases/"+caseNumber, nil, session(adminClerkToken))
			form := url.Values{"csrf": {csrfOf(t, page)}, "action": {"refuse"}, "reason": {"材料虚假"}, "legal_basis": {"《行政许可法》"}}
			resp, page := f.do(t, "POST", "/cases/"+caseNumber+"/act", form, session(adminClerkToken))
			if resp.StatusCode != tc.code {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.code)
			}
			if !strings.Contains(page, tc.want) {
				t.Errorf("the page does not show %s:\n%s", tc.want, page)
			}
			for _, english := range []string{"CASE_STATE_ACCEPTED", "must cite", "in flight"} {
				if strings.Contains(page, english) {
					t.Errorf("the page shows the English %q", english)
				}
			}
		})
	}
}

// TestAWriteThatMayHaveBeenDoneIsNotCalledUnsaved: OUTCOME_UNKNOWN on a
// registry form says to look first, not "未保存", and keeps what was typed.
func TestAWriteThatMayHaveBeenDoneIsNotCalledUnsaved(t *testing.T) {
	f := newFixture(t)
	f.reg.createItem = func(*yizhanv1.CreateItemRequest) (*yizhanv1.ItemWriteResponse, error) {
		return nil, reason.Err(reason.OutcomeUnknown, "federation: leadership lost while the write was in flight; it may have been applied")
	}
	_, page := f.do(t, "GET", "/admin/items/new", nil, session(adminToken))
	form := url.Values{"csrf": {csrfOf(t, page)}, "code": {"450122-T-1"}, "name": {"测试事项"}, "department_code": {"yc"},
		"type": {"1"}, "case_kind": {"2"}, "exercise_tier": {"1"}}
	resp, page := f.do(t, "POST", "/admin/items", form, session(adminToken))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
	for _, want := range []string{"无法确定操作是否已经生效", "请先查看结果", `value="测试事项"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not show %s", want)
		}
	}
	if strings.Contains(page, "未保存：") {
		t.Error("the page says the write was not saved")
	}
}

// fieldAnswer is an INVALID_ARGUMENT naming field with a reason of its
// own and its zh-CN text, as a newer node might send it.
func fieldAnswer(field, desc, why, zh string) error {
	br := &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{
		Field: field, Description: desc, Reason: why,
		LocalizedMessage: &errdetails.LocalizedMessage{Locale: reason.Locale, Message: zh},
	}}}
	return reason.Build(codes.InvalidArgument, reason.InvalidArgument, field+": "+desc, reason.Meta{"field": field}, zh, 0, br).Err()
}

// A case whose copy on this node is damaged (CASE_DAMAGED, DATA_LOSS)
// shows a page saying, in Chinese, that the case's record on this node is
// damaged and to call the operator, not 系统错误.
func TestADamagedCaseIsShownAsDamaged(t *testing.T) {
	f := newFixture(t)
	f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		return nil, reason.Status(reason.CaseDamaged, "casebook: the case book on disk is damaged: case "+caseNumber+" has its record at event 5 but 4 events on disk",
			reason.Meta{"number": caseNumber}, 0).Err()
	}
	resp, page := f.do(t, "GET", "/cases/"+caseNumber, nil, session(adminClerkToken))
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", resp.StatusCode)
	}
	for _, want := range []string{"数据已损坏", "本节点保存的办件 " + caseNumber + " 记录已损坏", "请联系系统运维人员"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not show %s:\n%s", want, page)
		}
	}
	if strings.Contains(page, "系统错误") {
		t.Errorf("the page calls a damaged case 系统错误:\n%s", page)
	}
}
