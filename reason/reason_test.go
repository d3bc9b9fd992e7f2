package reason

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var update = flag.Bool("update", false, "rewrite the tables of docs/ERRORS.md from the catalogue")

// TestEveryReasonHasChineseText walks the catalogue: each reason is
// UPPER_SNAKE and listed once, has a code, and a Chinese text with no
// meta, with its example meta, and with every key it names set.
func TestEveryReasonHasChineseText(t *testing.T) {
	upperSnake := regexp.MustCompile(`^[A-Z][A-Z0-9_]+[A-Z0-9]$`)
	seen := map[string]bool{}
	for _, d := range Defs() {
		if !upperSnake.MatchString(d.Reason) || len(d.Reason) > 63 {
			t.Errorf("%q is not UPPER_SNAKE_CASE of at most 63 characters", d.Reason)
		}
		if seen[d.Reason] {
			t.Errorf("%s is listed twice", d.Reason)
		}
		seen[d.Reason] = true
		if d.Code == codes.OK {
			t.Errorf("%s has no code", d.Reason)
		}
		if d.Field && d.Code != codes.InvalidArgument {
			t.Errorf("%s is a field reason answered %s", d.Reason, d.Code)
		}
		if d.Meaning == "" {
			t.Errorf("%s has no meaning", d.Reason)
		}
		all := Meta{}
		for _, k := range d.Keys {
			all[k] = "7"
		}
		for name, m := range map[string]Meta{"no meta": nil, "example": d.Example, "every key": all} {
			checkChinese(t, d.Reason+" with "+name, d.Text(m))
		}
	}
}

func checkChinese(t *testing.T, what, s string) {
	t.Helper()
	han := false
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			han = true
		}
	}
	if !han {
		t.Errorf("%s: %q is not Chinese", what, s)
	}
	if strings.ContainsAny(s, "{}[]") {
		t.Errorf("%s: %q has a template's brackets left", what, s)
	}
}

func TestTexts(t *testing.T) {
	for _, tc := range []struct {
		reason string
		meta   Meta
		want   string
	}{
		{CaseState, Meta{"state": "CASE_STATE_ACCEPTED", "action": "certify"}, "办件当前为“已受理”，不能制证。"},
		{CaseState, Meta{"state": "CASE_STATE_SOMETHING_NEW"}, "办件当前为“CASE_STATE_SOMETHING_NEW”，不能办理此操作。"},
		{PromisedExceedsStatutory, Meta{"promised": "12", "statutory": "10"}, "承诺时限不能超过法定时限（承诺 12 个工作日 > 法定 10 个工作日）"},
		{PromisedExceedsStatutory, nil, "承诺时限不能超过法定时限"},
		{TooLong, Meta{"max": "200", "got": "201"}, "最多 200 个字（现为 201 个）"},
		{OutOfRange, Meta{"min": "0", "max": "100", "got": "-1"}, "不能为负数"},
		{OutOfRange, Meta{"max": "100", "got": "2147483647"}, "不能超过 100（现为 2147483647）"},
		{OutOfRange, Meta{"min": "2000", "max": "2100", "got": "1999"}, "须在 2000 至 2100 之间（现为 1999）"},
		{TooManyAttempts, Meta{"what": "SIGN_IN", "retryAfterSeconds": "30"}, "该账号密码错误次数过多，已暂时锁定，请 30 秒后再试。"},
		{TooManyAttempts, Meta{"what": "QUERY_CODE", "retryAfterSeconds": "120"}, "查询码错误次数过多，请 2 分钟后再查。"},
		{TooManyAttempts, nil, "该账号密码错误次数过多，已暂时锁定，请稍后再试。"},
		{HolidayOnWeekend, Meta{"date": "2026-10-03", "weekday": "Saturday"}, "2026-10-03 是周六，本来就休息：节假日须在周一至周五"},
		{NotFound, Meta{"kind": "item", "code": "450122-YC-001", "version": "3"}, "事项“450122-YC-001”第 3 版不存在。"},
		{InvalidFormat, Meta{"format": "ID_NUMBER", "part": "LENGTH", "got": "19"}, "身份证号须为 18 位（现为 19 位）"},
		{"SOMETHING_NEW", nil, "处理您的请求时出错，请稍后再试。"},
	} {
		if got := Text(tc.reason, tc.meta); got != tc.want {
			t.Errorf("Text(%s, %v) = %q, want %q", tc.reason, tc.meta, got, tc.want)
		}
	}
}

func TestErrorWrapsAndIsFound(t *testing.T) {
	sentinel := errors.New("casework: failed precondition")
	err := fmt.Errorf("node: %w", Errorf(CaseState, Meta{"state": "CASE_STATE_FILED"}, "case is CASE_STATE_FILED: accept it first: %w", sentinel))
	if !errors.Is(err, sentinel) {
		t.Error("errors.Is does not see the sentinel")
	}
	if e := Of(err); e == nil || e.Reason != CaseState || e.Meta["state"] != "CASE_STATE_FILED" {
		t.Errorf("Of = %+v", e)
	}
	two := Errorf(NotFound, nil, "%w: %w", sentinel, context.Canceled)
	if !errors.Is(two, context.Canceled) || !errors.Is(two, sentinel) {
		t.Error("two wrapped errors are not both seen")
	}
	if ReasonOf(errors.New("plain")) != "" {
		t.Error("a plain error has a reason")
	}
}

func TestStatus(t *testing.T) {
	st := Status(TooManyAttempts, "too many failed sign-ins", Meta{"what": "SIGN_IN", "retryAfterSeconds": "30"}, 30e9)
	if st.Code() != codes.ResourceExhausted {
		t.Errorf("code %s", st.Code())
	}
	if ei := Info(st); ei.GetReason() != TooManyAttempts || ei.GetDomain() != Domain || ei.GetMetadata()["what"] != "SIGN_IN" {
		t.Errorf("ErrorInfo %v", ei)
	}
	if got := Localized(st); got != "该账号密码错误次数过多，已暂时锁定，请 30 秒后再试。" {
		t.Errorf("LocalizedMessage %q", got)
	}
	retry := false
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().AsDuration() == 30e9 {
			retry = true
		}
	}
	if !retry {
		t.Error("no RetryInfo")
	}
	if StatusReason(st.Err()) != TooManyAttempts || StatusReason(errors.New("x")) != "" {
		t.Error("StatusReason")
	}
}

const (
	docPath   = "../docs/ERRORS.md"
	beginMark = "<!-- reasons: made by go test ./reason -run TestErrorsDoc -update -->\n"
	endMark   = "<!-- end of reasons -->\n"
)

// TestErrorsDoc checks that docs/ERRORS.md lists the catalogue as it is.
func TestErrorsDoc(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q … %q", docPath, beginMark, endMark)
	}
	want := s[:i+len(beginMark)] + docTables() + s[j:]
	if want == s {
		return
	}
	if *update {
		if err := os.WriteFile(docPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s does not list the catalogue as it is: run go test ./reason -run TestErrorsDoc -update", docPath)
}

func docTables() string {
	var b strings.Builder
	b.WriteString("\n### Reasons of a request (`ErrorInfo.reason`)\n\n")
	b.WriteString("| reason | gRPC | HTTP | retry safe? | zh-CN text (an example) | meaning; metadata |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, d := range Defs() {
		if d.Field && d.Reason != TooLarge {
			continue
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %d | %s | %s | %s%s |\n", d.Reason, codeName(d.Code), runtime.HTTPStatusFromCode(d.Code),
			d.Retry, d.Text(d.Example), d.Meaning, keys(d))
	}
	b.WriteString("\n### Reasons of a field (`BadRequest.FieldViolation.reason`, in an `INVALID_ARGUMENT`: HTTP 400, not retry safe)\n\n")
	b.WriteString("| reason | zh-CN text (an example) | meaning; metadata |\n| --- | --- | --- |\n")
	for _, d := range Defs() {
		if !d.Field {
			continue
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s%s |\n", d.Reason, d.Text(d.Example), d.Meaning, keys(d))
	}
	b.WriteString("\n### The case rules that say more than the state (`metadata.rule` of a `CASE_STATE` or `WRONG_ROLE`)\n\n")
	b.WriteString("The other rules of casework's table (`STATE`, `ROLE`, …) are said by the reason's own text.\n\n")
	b.WriteString("| rule | zh-CN text |\n| --- | --- |\n")
	for _, r := range slices.Sorted(maps.Keys(caseRuleZH)) {
		fmt.Fprintf(&b, "| `%s` | %s |\n", r, caseRuleZH[r])
	}
	b.WriteString("\n")
	return b.String()
}

func keys(d Def) string {
	if len(d.Keys) == 0 {
		return ""
	}
	return "; `" + strings.Join(d.Keys, "`, `") + "`"
}

// codeName is the code as the REST body's status names it (UNAVAILABLE).
func codeName(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

type ownError struct{ state string }

func (e ownError) Error() string { return "case is " + e.state }
func (e ownError) ErrorReason() (string, Meta) {
	return CaseState, Meta{"state": e.state}
}

func TestAPackagesOwnErrorNamesItsReason(t *testing.T) {
	err := fmt.Errorf("node: %w", ownError{"CASE_STATE_FILED"})
	e := Of(err)
	if e == nil || e.Reason != CaseState || e.Meta["state"] != "CASE_STATE_FILED" || e.Error() != "case is CASE_STATE_FILED" {
		t.Fatalf("Of = %+v", e)
	}
	if !errors.As(e, new(ownError)) {
		t.Error("the *Error does not wrap the package's own error")
	}
}

func TestCompleteGivesEveryAnswerItsReasonAndText(t *testing.T) {
	plain := status.New(codes.Unavailable, "connection refused")
	st := Complete(plain)
	if st.Code() != codes.Unavailable || st.Message() != "connection refused" || Info(st).GetReason() != Unreachable || Localized(st) == "" {
		t.Errorf("Complete(Unavailable) = %v %q, reason %q, text %q", st.Code(), st.Message(), Info(st).GetReason(), Localized(st))
	}
	if st := Complete(status.New(codes.Unknown, "boom")); Info(st).GetReason() != Internal {
		t.Errorf("Unknown: reason %q", Info(st).GetReason())
	}
	whole := Status(CaseState, "case is CASE_STATE_FILED", Meta{"state": "CASE_STATE_FILED"}, 0)
	if Complete(whole) != whole {
		t.Error("a status with its reason and text was changed")
	}
	br := &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
		{Field: "name", Description: "is required", Reason: Required},
		{Field: "colour", Description: "something new"},
	}}
	bad, _ := status.New(codes.InvalidArgument, "name: is required").WithDetails(br)
	st = Complete(bad)
	var got *errdetails.BadRequest
	for _, d := range st.Details() {
		if b, ok := d.(*errdetails.BadRequest); ok {
			got = b
		}
	}
	if fvs := got.GetFieldViolations(); len(fvs) != 2 || fvs[0].GetLocalizedMessage().GetMessage() != "必填" ||
		fvs[1].GetReason() != InvalidValue || fvs[1].GetLocalizedMessage().GetMessage() != "填写的内容不符合要求" {
		t.Errorf("violations %v", fvs)
	}
	if Info(st).GetReason() != InvalidArgument {
		t.Errorf("reason %q", Info(st).GetReason())
	}
}

// A write is sent again after its files are uploaded only when it was
// refused for nothing else.
func TestOnlyFieldReason(t *testing.T) {
	missing := Violation{Field: "materials[0].files[0].sha256", Reason: AttachmentMissing, Description: "upload it first"}
	name := Violation{Field: "applicant.name", Reason: Required, Description: "is required"}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"only files missing", BadRequest(missing, missing).Err(), true},
		{"a name missing too", BadRequest(missing, name).Err(), false},
		{"no violation", BadRequest().Err(), false},
		{"another code", Err(CaseState, "accepted"), false},
		{"no error", nil, false},
	} {
		if got := OnlyFieldReason(tc.err, AttachmentMissing); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
