package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// rememberingCases answers the citizen's rating and complaint as the API
// does with request IDs: a write sent again with its ID is answered as
// before; an ID sent again with another body is refused
// (REQUEST_ID_REUSED). lose, when set, loses the answer of a write it has
// made (OUTCOME_UNKNOWN: the leader changed while it was in flight).
type rememberingCases struct {
	*fakeCases
	mu     sync.Mutex
	bodies map[string]string // request ID → method and body
	done   []string          // the writes made, by method
	lose   bool
}

func (c *rememberingCases) write(ctx context.Context, method string, req *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	body := method + ":" + string(b)
	md, _ := metadata.FromIncomingContext(ctx)
	id := strings.Join(md.Get("idempotency-key"), "")
	if was, ok := c.bodies[id]; ok && id != "" {
		if was != body {
			return nil, reason.Err(reason.RequestIDReused, "the request ID was used for another request")
		}
	} else {
		c.bodies[id] = body
		c.done = append(c.done, method)
	}
	if c.lose {
		return nil, reason.Err(reason.OutcomeUnknown, "leadership lost while the write was in flight")
	}
	cs := filedCase()
	cs.LastSeq = 16
	return &yizhanv1.CaseResponse{Case: cs}, nil
}

func (c *rememberingCases) Rate(ctx context.Context, req *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return c.write(ctx, "rate", req)
}

func (c *rememberingCases) Complain(ctx context.Context, req *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return c.write(ctx, "complain", req)
}

// trackedClosedCase is a fixture whose case is closed, may be rated and
// complained about, and whose rating and complaint are remembered by
// their request IDs; it returns the tracked case's page and the cookie
// of its browser.
func trackedClosedCase(t *testing.T) (*fixture, *rememberingCases, string, *http.Cookie) {
	t.Helper()
	rc := &rememberingCases{bodies: map[string]string{}}
	f := newFixture(t, func(c *Config) { c.Cases = rc })
	rc.fakeCases = f.cases
	f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		c := filedCase()
		c.State, c.LastSeq, c.AllowedActions = yizhanv1.CaseState_CASE_STATE_CLOSED, 15, []string{"rate", "complain"}
		return &yizhanv1.CaseResponse{Case: c}, nil
	}
	resp, page := f.do(t, "GET", "/track", nil)
	pre := cookieOf(resp, preCookie)
	_, page = f.do(t, "POST", "/track", url.Values{"csrf": {csrfOf(t, page)}, "number": {caseNumber}, "query_code": {"12345678"}}, pre)
	return f, rc, page, pre
}

// formRequestID is the request ID of the form posting to action on page.
func formRequestID(t *testing.T, page, action string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<form method="post" action="` + regexp.QuoteMeta(action) + `".*?name="request_id" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form to %s with a request ID on the page:\n%s", action, page)
	}
	return m[1]
}

// A citizen whose rating's answer was lost, who then complains from the
// same page, has the complaint taken: each form of the page has its own
// request ID. Sent again, the rating is the same write, not a second one.
func TestEachFormOfAPageHasItsOwnRequestID(t *testing.T) {
	f, rc, page, pre := trackedClosedCase(t)
	token := csrfOf(t, page)
	rateID, complainID := formRequestID(t, page, "/track/rate"), formRequestID(t, page, "/track/complain")
	if rateID == complainID {
		t.Errorf("the rating and the complaint share the request ID %q", rateID)
	}
	rating := url.Values{"csrf": {token}, "request_id": {rateID}, "number": {caseNumber}, "query_code": {"12345678"}, "rating": {"2"}}
	rc.lose = true
	resp, page := f.do(t, "POST", "/track/rate", rating, pre)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(page, "无法确定操作是否已经生效") {
		t.Fatalf("a rating whose answer was lost: status %d\n%s", resp.StatusCode, page)
	}
	rc.lose = false
	if got := formRequestID(t, page, "/track/rate"); got != rateID {
		t.Errorf("the rating form shown again has request ID %q, want the one sent, %q", got, rateID)
	}
	complaint := url.Values{"csrf": {token}, "request_id": {formRequestID(t, page, "/track/complain")}, "number": {caseNumber}, "query_code": {"12345678"}, "reason": {"窗口要求提交清单以外的材料"}}
	if complaint.Get("request_id") == rateID {
		t.Errorf("the complaint form shown after the rating carries the rating's request ID")
	}
	resp, page = f.do(t, "POST", "/track/complain", complaint, pre)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/track/t/") {
		t.Fatalf("the complaint after a lost rating: status %d, want 303 to the case\n%s", resp.StatusCode, page)
	}
	// The rating sent again from the page shown after it: the same write.
	if resp, _ := f.do(t, "POST", "/track/rate", rating, pre); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the rating sent again: status %d, want 303", resp.StatusCode)
	}
	if want := []string{"rate", "complain"}; strings.Join(rc.done, ",") != strings.Join(want, ",") {
		t.Errorf("the API made the writes %q, want %q", rc.done, want)
	}
}

// A form sent again with other words after its answer was lost is
// refused by the API (its request ID was used for another request): the
// citizen reads why, in plain words, above the form as typed, not a
// generic error page.
func TestAFormSentAgainChangedSaysWhy(t *testing.T) {
	f, rc, page, pre := trackedClosedCase(t)
	rating := url.Values{"csrf": {csrfOf(t, page)}, "request_id": {formRequestID(t, page, "/track/rate")}, "number": {caseNumber}, "query_code": {"12345678"}, "rating": {"2"}}
	rc.lose = true
	f.do(t, "POST", "/track/rate", rating, pre)
	rc.lose = false
	rating.Set("rating", "4")
	rating.Set("reason", "跑了两趟")
	resp, page := f.do(t, "POST", "/track/rate", rating, pre)
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("a rating sent again changed: status %d, want 409", resp.StatusCode)
	}
	for _, want := range []string{"未提交：此表单此前已提交过一次", "请刷新页面，查看那次是否已经办理", `action="/track/rate"`, `value="4" checked> 不满意`, "跑了两趟</textarea>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not say %s", want)
		}
	}
	if strings.Contains(page, "请求编号") || strings.Contains(page, "数据冲突") {
		t.Error("the page speaks of request IDs or a conflict")
	}
}

// refusingRegistry refuses every item update as the API refuses a
// request ID sent before with another body.
type refusingRegistry struct{ *fakeRegistry }

func (refusingRegistry) UpdateItem(context.Context, *yizhanv1.UpdateItemRequest) (*yizhanv1.ItemWriteResponse, error) {
	return nil, reason.Err(reason.RequestIDReused, "the request ID was used for another request")
}

// The same refusal reaching a handler that shows no form again (retiring
// an item) is a page that says why in the same words.
func TestAFormSentAgainChangedSaysWhyOnItsPage(t *testing.T) {
	f := newFixture(t)
	f.h, _ = New(Config{Registry: refusingRegistry{f.reg}, Auth: f.auth, Cluster: yizhanv1.UnimplementedClusterServiceServer{},
		Office: county, Node: "county-1", Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	_, page := f.do(t, "GET", "/admin/items", nil, session(adminToken))
	form := url.Values{"csrf": {csrfOf(t, page)}, "request_id": {formRequestID(t, page, "/admin/items/450122-YC-001/retire")}, "retired": {"1"}, "change_note": {"县政府 2026 年第 12 号文"}}
	resp, page := f.do(t, "POST", "/admin/items/450122-YC-001/retire", form, session(adminToken))
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "未提交") || !strings.Contains(page, "此表单此前已提交过一次") || strings.Contains(page, "数据冲突") {
		t.Errorf("a retirement whose request ID was used before: status %d\n%s", resp.StatusCode, page)
	}
}
