package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/reason"
)

// The handlers against fake services: the API is the edge of this
// package. The browser tests (browser_test.go) run the real thing.

const (
	adminToken      = "tok-admin"
	adminClerkToken = "tok-clerk"
	agentToken      = "tok-agent"
	supervisorToken = "tok-supervisor"
	county          = "450122000000"
	village         = "450122101203"
)

var now = time.Date(2026, 11, 27, 10, 0, 0, 0, china)

type fakeAuth struct {
	yizhanv1.UnimplementedAuthServiceServer
	login  func(*yizhanv1.LoginRequest) (*yizhanv1.LoginResponse, error)
	logins atomic.Int32
}

func (f *fakeAuth) Login(_ context.Context, req *yizhanv1.LoginRequest) (*yizhanv1.LoginResponse, error) {
	f.logins.Add(1)
	return f.login(req)
}

func (f *fakeAuth) WhoAmI(ctx context.Context, _ *yizhanv1.WhoAmIRequest) (*yizhanv1.WhoAmIResponse, error) {
	switch auth.BearerToken(ctx) {
	case adminToken:
		return &yizhanv1.WhoAmIResponse{Staff: &yizhanv1.StaffMember{Username: "admin", Name: "系统管理员", OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_ADMIN}}}, nil
	case adminClerkToken:
		return &yizhanv1.WhoAmIResponse{Staff: &yizhanv1.StaffMember{Username: "chenjing", Name: "陈静", OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}}, nil
	case agentToken:
		return &yizhanv1.WhoAmIResponse{Staff: &yizhanv1.StaffMember{Username: "dongcun", Name: "黄秀英", OfficeCode: village, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}}}, nil
	case supervisorToken:
		return &yizhanv1.WhoAmIResponse{Staff: &yizhanv1.StaffMember{Username: "jiancha", Name: "覃监察", OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_SUPERVISOR}}}, nil
	}
	return nil, status.Error(codes.Unauthenticated, "bad token")
}

type fakeRegistry struct {
	yizhanv1.UnimplementedRegistryServiceServer
	createItem  func(*yizhanv1.CreateItemRequest) (*yizhanv1.ItemWriteResponse, error)
	getItem     func(*yizhanv1.GetItemRequest) (*yizhanv1.GetItemResponse, error)
	listGrants  func(context.Context) (*yizhanv1.ListGrantsResponse, error)
	createItems atomic.Int32
	updates     []*yizhanv1.UpdateItemRequest
	// staffUpdates and officeUpdates are the edits asked for.
	staffUpdates  []*yizhanv1.UpdateStaffRequest
	officeUpdates []*yizhanv1.UpdateOfficeRequest
	// changeQueries are the audit trail's queries asked for.
	changeQueries []*yizhanv1.ListRegistryChangesRequest
	// passwordKeys are the request IDs password changes came with.
	passwordKeys []string
	// warningDays is the supervision policy's (0: none set).
	warningDays int32
	// officeCreates and departmentCreates are the offices and departments
	// added.
	officeCreates     []*yizhanv1.CreateOfficeRequest
	departmentCreates []*yizhanv1.CreateDepartmentRequest
}

func (f *fakeRegistry) GetSupervisionPolicy(context.Context, *yizhanv1.GetSupervisionPolicyRequest) (*yizhanv1.GetSupervisionPolicyResponse, error) {
	return &yizhanv1.GetSupervisionPolicyResponse{Policy: &yizhanv1.SupervisionPolicy{WarningDays: f.warningDays}}, nil
}

func (f *fakeRegistry) ChangePassword(ctx context.Context, req *yizhanv1.ChangePasswordRequest) (*yizhanv1.StaffWriteResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.passwordKeys = append(f.passwordKeys, md.Get("idempotency-key")...)
	return &yizhanv1.StaffWriteResponse{Staff: &yizhanv1.StaffMember{Username: req.GetUsername(), OfficeCode: county}}, nil
}

// A password change is sent with its form's request ID: sent again after
// an unknown outcome, it is the same change, answered as it was (the old
// password, no longer it, would be refused).
func TestPasswordChangeCarriesItsRequestID(t *testing.T) {
	f := newFixture(t)
	resp, page := f.do(t, "GET", "/password", nil)
	m := regexp.MustCompile(`name="request_id" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the password form has no request ID:\n%s", page)
	}
	form := url.Values{"csrf": {csrfOf(t, page)}, "request_id": {m[1]}, "username": {"chenjing"},
		"old_password": {"old-long-password"}, "new_password": {"new-long-password"}, "repeat": {"new-long-password"}}
	f.do(t, "POST", "/password", form, cookieOf(resp, preCookie))
	if len(f.reg.passwordKeys) != 1 || f.reg.passwordKeys[0] != m[1] {
		t.Errorf("the change came with request IDs %v, want the form's %s", f.reg.passwordKeys, m[1])
	}
}

func (f *fakeRegistry) ListRegistryChanges(_ context.Context, req *yizhanv1.ListRegistryChangesRequest) (*yizhanv1.ListRegistryChangesResponse, error) {
	f.changeQueries = append(f.changeQueries, req)
	return &yizhanv1.ListRegistryChangesResponse{NextPageToken: "41", Changes: []*yizhanv1.RegistryChange{
		{Index: 44, At: timestamppb.New(time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)), Actor: "admin", Kind: "staff", Op: "disable", Target: "chenjing", TargetName: "陈静",
			Changes: []*yizhanv1.FieldChange{{Field: "disabled", After: "true"}}},
		{Index: 43, Actor: "admin", Kind: "staff", Op: "update", Target: "chenjing", TargetName: "陈静",
			Changes: []*yizhanv1.FieldChange{{Field: "roles", Before: "ROLE_CLERK", After: "ROLE_CLERK、ROLE_REVIEWER"}}},
		{Index: 42, Actor: "admin", Kind: "item", Op: "retire", Target: "YC-1", TargetName: "烟草专卖零售许可", Note: "依据县政府第 12 号文废止",
			Changes: []*yizhanv1.FieldChange{{Field: "retired", After: "true"}}},
	}}, nil
}

func (f *fakeRegistry) GetOffice(_ context.Context, req *yizhanv1.GetOfficeRequest) (*yizhanv1.GetOfficeResponse, error) {
	return &yizhanv1.GetOfficeResponse{Office: &yizhanv1.Office{Code: req.GetCode(), Name: "办事点" + req.GetCode()}}, nil
}

func (f *fakeRegistry) ListOffices(context.Context, *yizhanv1.ListOfficesRequest) (*yizhanv1.ListOfficesResponse, error) {
	return &yizhanv1.ListOfficesResponse{Offices: []*yizhanv1.Office{
		{Code: county, Name: "青山县政务服务中心", Tier: yizhanv1.Tier_TIER_COUNTY},
		{Code: village, Name: "东村便民服务站", Tier: yizhanv1.Tier_TIER_VILLAGE, ParentCode: "450122101000"},
	}}, nil
}

func (f *fakeRegistry) ListDepartments(context.Context, *yizhanv1.ListDepartmentsRequest) (*yizhanv1.ListDepartmentsResponse, error) {
	return &yizhanv1.ListDepartmentsResponse{Departments: []*yizhanv1.Department{{Code: "yc", Name: "县烟草专卖局"}}}, nil
}

func (f *fakeRegistry) ListItems(context.Context, *yizhanv1.ListItemsRequest) (*yizhanv1.ListItemsResponse, error) {
	return &yizhanv1.ListItemsResponse{Items: []*yizhanv1.Item{{Code: "450122-YC-001", Name: "烟草专卖零售许可证核发", DepartmentCode: "yc", StatutoryLimitDays: 20, PromisedLimitDays: 10}}}, nil
}

func (f *fakeRegistry) ListGrants(ctx context.Context, _ *yizhanv1.ListGrantsRequest) (*yizhanv1.ListGrantsResponse, error) {
	if f.listGrants != nil {
		return f.listGrants(ctx)
	}
	return &yizhanv1.ListGrantsResponse{}, nil
}

func (f *fakeRegistry) GetItem(_ context.Context, req *yizhanv1.GetItemRequest) (*yizhanv1.GetItemResponse, error) {
	if f.getItem != nil {
		return f.getItem(req)
	}
	return &yizhanv1.GetItemResponse{Item: &yizhanv1.Item{Code: req.GetCode(), Name: "事项" + req.GetCode(), Version: 1}}, nil
}

func (f *fakeRegistry) CreateItem(_ context.Context, req *yizhanv1.CreateItemRequest) (*yizhanv1.ItemWriteResponse, error) {
	f.createItems.Add(1)
	return f.createItem(req)
}

func (f *fakeRegistry) GetRegistryStatus(context.Context, *yizhanv1.GetRegistryStatusRequest) (*yizhanv1.RegistryStatus, error) {
	return &yizhanv1.RegistryStatus{Index: 100}, nil
}

type fakeCases struct {
	yizhanv1.UnimplementedCaseServiceServer
	getCase    func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error)
	refuse     func(*yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error)
	file       func(context.Context, *yizhanv1.FileCaseRequest) (*yizhanv1.CaseResponse, error)
	rate       func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error)
	act        func(string, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) // the other actions, by name
	attachment func(*yizhanv1.GetAttachmentRequest) (*yizhanv1.AttachmentPart, error)
	listCases  func(*yizhanv1.ListCasesRequest) (*yizhanv1.ListCasesResponse, error)
	// chainProblem, when set, is what VerifyCase finds: the events'
	// chain does not check.
	chainProblem string
	refuses      atomic.Int32
	uploads      atomic.Int32
	held         sync.Map // sha256 → true: what was uploaded
}

// missingFiles is the API's ATTACHMENT_MISSING for the files ms names
// that were not uploaded, as the office checks them once all else
// passes.
func (f *fakeCases) missingFiles(ms []*yizhanv1.SubmittedMaterial) error {
	var vs []reason.Violation
	for i, m := range ms {
		for j, a := range m.GetFiles() {
			if _, ok := f.held.Load(a.GetSha256()); !ok {
				vs = append(vs, reason.Violation{Field: fmt.Sprintf("materials[%d].files[%d].sha256", i, j),
					Reason: reason.AttachmentMissing, Meta: reason.Meta{"sha256": a.GetSha256()}, Description: "upload it first"})
			}
		}
	}
	if len(vs) == 0 {
		return nil
	}
	return reason.BadRequest(vs...).Err()
}

func (f *fakeCases) Resubmit(_ context.Context, req *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return f.act("resubmit", req)
}

// UploadAttachment takes every upload whole at once.
func (f *fakeCases) UploadAttachment(_ context.Context, req *yizhanv1.UploadAttachmentRequest) (*yizhanv1.UploadAttachmentResponse, error) {
	f.uploads.Add(1)
	f.held.Store(req.GetSha256(), true)
	return &yizhanv1.UploadAttachmentResponse{Complete: true, Received: req.GetSize()}, nil
}

func (f *fakeCases) AssessFee(_ context.Context, req *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return f.act("assessFee", req)
}

func (f *fakeCases) CorrectFee(_ context.Context, req *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return f.act("correctFee", req)
}

func (f *fakeCases) Rate(ctx context.Context, req *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return f.rate(ctx, req)
}

func (f *fakeCases) GetAttachment(_ context.Context, req *yizhanv1.GetAttachmentRequest) (*yizhanv1.AttachmentPart, error) {
	return f.attachment(req)
}

func (f *fakeCases) ListCases(_ context.Context, req *yizhanv1.ListCasesRequest) (*yizhanv1.ListCasesResponse, error) {
	if f.listCases == nil {
		return &yizhanv1.ListCasesResponse{}, nil
	}
	return f.listCases(req)
}

func (f *fakeCases) GetCase(_ context.Context, req *yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
	return f.getCase(req)
}

// ListCaseEvents lists as many events as the case has (of no type).
func (f *fakeCases) ListCaseEvents(_ context.Context, req *yizhanv1.ListCaseEventsRequest) (*yizhanv1.ListCaseEventsResponse, error) {
	resp := &yizhanv1.ListCaseEventsResponse{ChainValid: f.chainProblem == ""}
	if c, err := f.getCase(&yizhanv1.GetCaseRequest{Number: req.GetNumber(), QueryCode: req.GetQueryCode()}); err == nil {
		for i := range c.GetCase().GetLastSeq() {
			resp.Events = append(resp.Events, &yizhanv1.CaseEvent{Seq: i + 1})
		}
	}
	return resp, nil
}

func (f *fakeCases) VerifyCase(_ context.Context, req *yizhanv1.VerifyCaseRequest) (*yizhanv1.VerifyCaseResponse, error) {
	return &yizhanv1.VerifyCaseResponse{Valid: f.chainProblem == "", Problem: f.chainProblem}, nil
}

func (f *fakeCases) Refuse(_ context.Context, req *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	f.refuses.Add(1)
	return f.refuse(req)
}

func (f *fakeCases) FileCase(ctx context.Context, req *yizhanv1.FileCaseRequest) (*yizhanv1.CaseResponse, error) {
	return f.file(ctx, req)
}

const caseNumber = "450122000000-20261127-0001"

// filedCase is a case waiting at the county to be accepted, with what
// the API allows a clerk there.
func filedCase() *yizhanv1.Case {
	return &yizhanv1.Case{
		Number: caseNumber, ItemCode: "450122-YC-001", ItemName: "烟草专卖零售许可证核发", ItemVersion: 1,
		OriginOffice: county, OwnerOffice: county, State: yizhanv1.CaseState_CASE_STATE_FILED,
		Applicant:      &yizhanv1.Applicant{Name: "黄小明", IdNumber: "4501**********6028"},
		AllowedActions: []string{"accept", "requestCorrection", "refuse", "withdraw"},
	}
}

type fixture struct {
	h     http.Handler
	reg   *fakeRegistry
	auth  *fakeAuth
	cases *fakeCases
}

// newFixture builds the UI over fake services; mods change its Config.
func newFixture(t testing.TB, mods ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{reg: &fakeRegistry{}, auth: &fakeAuth{}, cases: &fakeCases{}}
	f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		return &yizhanv1.CaseResponse{Case: filedCase()}, nil
	}
	f.auth.login = func(req *yizhanv1.LoginRequest) (*yizhanv1.LoginResponse, error) {
		if req.GetUsername() == "admin" && req.GetPassword() == "right" {
			return &yizhanv1.LoginResponse{Token: adminToken, ExpiresAt: timestamppb.New(now.Add(8 * time.Hour))}, nil
		}
		return nil, status.Error(codes.Unauthenticated, "wrong username or password")
	}
	f.reg.createItem = func(req *yizhanv1.CreateItemRequest) (*yizhanv1.ItemWriteResponse, error) {
		return &yizhanv1.ItemWriteResponse{Item: req.GetItem(), RegistryIndex: 100}, nil
	}
	cfg := Config{
		Registry: f.reg, Auth: f.auth, Cluster: yizhanv1.UnimplementedClusterServiceServer{}, Cases: f.cases,
		Office: county, Node: "county-1", Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, mod := range mods {
		mod(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

// do sends a request with the given cookies and returns the response and
// its body.
func (f *fixture) do(t testing.TB, method, path string, form url.Values, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	resp := w.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf is the CSRF token in a page's forms.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%s", page)
	}
	return m[1]
}

func cookieOf(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func session(token string) *http.Cookie { return &http.Cookie{Name: sessionCookie, Value: token} }

func TestLoginSetsASafeSessionCookie(t *testing.T) {
	for _, tc := range []struct {
		name      string
		tls       bool
		behindTLS bool // Config.SecureCookies: TLS ends at a proxy in front
		secure    bool
	}{
		{name: "plain http", tls: false, secure: false},
		{name: "tls", tls: true, secure: true},
		{name: "behind a TLS proxy", behindTLS: true, secure: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.SecureCookies = tc.behindTLS })
			resp, page := f.do(t, "GET", "/login", nil)
			pre := cookieOf(resp, preCookie)
			if pre == nil || !pre.HttpOnly || pre.SameSite != http.SameSiteStrictMode || (tc.behindTLS && !pre.Secure) {
				t.Fatalf("login page's CSRF cookie: %+v", pre)
			}
			form := url.Values{"csrf": {csrfOf(t, page)}, "username": {"admin"}, "password": {"right"}, "next": {"/admin/grants"}}
			req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(pre)
			if tc.tls {
				req.TLS = &tls.ConnectionState{}
			}
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, req)
			resp = w.Result()
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/grants" {
				t.Fatalf("sign-in: %d to %q, want 303 to /admin/grants", resp.StatusCode, resp.Header.Get("Location"))
			}
			c := cookieOf(resp, sessionCookie)
			if c == nil {
				t.Fatal("no session cookie")
			}
			if c.Value != adminToken || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure != tc.secure {
				t.Errorf("session cookie %+v: want the token, HttpOnly, SameSite=Strict, Path=/, Secure=%v", c, tc.secure)
			}
			if want := now.Add(8 * time.Hour); !c.Expires.Equal(want.Truncate(time.Second)) {
				t.Errorf("session cookie expires %v, want the token's expiry %v", c.Expires, want)
			}
		})
	}
}

func TestFormTooLargeIs413(t *testing.T) {
	f := newFixture(t)
	resp, page := f.do(t, "POST", "/login", url.Values{"username": {"admin"}, "password": {strings.Repeat("x", maxForm)}})
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "1 MiB") {
		t.Errorf("a form over %d bytes: %d", maxForm, resp.StatusCode)
	}
	if n := f.auth.logins.Load(); n != 0 {
		t.Errorf("Login was called %d times", n)
	}
}

func TestLoginNeedsItsCSRFToken(t *testing.T) {
	f := newFixture(t)
	resp, page := f.do(t, "POST", "/login", url.Values{"username": {"admin"}, "password": {"right"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "请求被拒绝") {
		t.Errorf("sign-in without a CSRF token: %d", resp.StatusCode)
	}
	if n := f.auth.logins.Load(); n != 0 {
		t.Errorf("Login was called %d times", n)
	}
	if cookieOf(resp, sessionCookie) != nil {
		t.Error("a session cookie was set")
	}
}

func TestLoginErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code int
		want string
	}{
		{"wrong password", status.Error(codes.Unauthenticated, "wrong username or password"), http.StatusUnauthorized, "用户名或密码错误"},
		{"too many failures", status.Error(codes.ResourceExhausted, "too many wrong passwords"), http.StatusTooManyRequests, "错误次数过多"},
		{"too many failures, with retry info", retryIn(30 * time.Second), http.StatusTooManyRequests, "请 30 秒后再试"},
		{"upstream down", status.Error(codes.Unavailable, "no route"), http.StatusServiceUnavailable, "暂时无法连接"},
		{"blank username", badRequest(reason.Violation{Field: "username", Description: "is required", Reason: reason.Required}), http.StatusBadRequest, `id="e-username">必填`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.auth.login = func(*yizhanv1.LoginRequest) (*yizhanv1.LoginResponse, error) { return nil, tc.err }
			resp, page := f.do(t, "GET", "/login", nil)
			pre := cookieOf(resp, preCookie)
			resp, page = f.do(t, "POST", "/login", url.Values{"csrf": {csrfOf(t, page)}, "username": {"admin"}, "password": {"x"}}, pre)
			if resp.StatusCode != tc.code {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.code)
			}
			if !strings.Contains(page, tc.want) {
				t.Errorf("the page does not show %q:\n%s", tc.want, page)
			}
			if cookieOf(resp, sessionCookie) != nil {
				t.Error("a session cookie was set")
			}
		})
	}
}

func retryIn(d time.Duration) error {
	st, _ := status.New(codes.ResourceExhausted, "slow down").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
	return st.Err()
}

// badRequest is the API's answer to bad input, each violation with its
// reason and zh-CN text (as node's toStatus makes it).
func badRequest(vs ...reason.Violation) error { return reason.BadRequest(vs...).Err() }

func TestPostWithoutAValidCSRFTokenChangesNothing(t *testing.T) {
	f := newFixture(t)
	_, page := f.do(t, "GET", "/admin/items/new", nil, session(adminToken))
	good := csrfOf(t, page)
	item := url.Values{"code": {"450122-T-1"}, "name": {"测试"}, "department_code": {"yc"}, "type": {"1"}, "case_kind": {"2"}, "exercise_tier": {"1"}}
	with := func(token string) url.Values {
		v := url.Values{}
		for k, vs := range item {
			v[k] = vs
		}
		if token != "" {
			v.Set("csrf", token)
		}
		return v
	}
	other := newFixture(t) // another process: another CSRF key
	_, otherPage := other.do(t, "GET", "/admin/items/new", nil, session(adminToken))
	for _, tc := range []struct {
		name  string
		token string
	}{
		{"no token", ""},
		{"a wrong token", "AAAA"},
		{"another process's token", csrfOf(t, otherPage)},
		{"the signed-out token", anonToken(t, f)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, page := f.do(t, "POST", "/admin/items", with(tc.token), session(adminToken))
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "未做任何修改") {
				t.Errorf("status %d, want 403 saying nothing was changed", resp.StatusCode)
			}
		})
	}
	if n := f.reg.createItems.Load(); n != 0 {
		t.Fatalf("CreateItem was called %d times without a valid CSRF token", n)
	}
	resp, _ := f.do(t, "POST", "/admin/items", with(good), session(adminToken))
	if resp.StatusCode != http.StatusSeeOther || f.reg.createItems.Load() != 1 {
		t.Errorf("with its token: status %d, %d calls; want 303 and one call", resp.StatusCode, f.reg.createItems.Load())
	}
}

// anonToken is a valid signed-out CSRF token (of the sign-in form), which
// must not pass for a signed-in session.
func anonToken(t *testing.T, f *fixture) string {
	_, page := f.do(t, "GET", "/login", nil)
	return csrfOf(t, page)
}

func TestCrossOriginPostIsRefused(t *testing.T) {
	f := newFixture(t)
	_, page := f.do(t, "GET", "/admin/items/new", nil, session(adminToken))
	form := url.Values{"csrf": {csrfOf(t, page)}, "code": {"X"}}
	req := httptest.NewRequest("POST", "/admin/items", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(session(adminToken))
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	if w.Code != http.StatusForbidden || f.reg.createItems.Load() != 0 {
		t.Errorf("cross-site post: status %d, %d calls", w.Code, f.reg.createItems.Load())
	}
}

func TestFieldErrorsAreShownNextToTheirFields(t *testing.T) {
	f := newFixture(t)
	f.reg.createItem = func(req *yizhanv1.CreateItemRequest) (*yizhanv1.ItemWriteResponse, error) {
		// The API numbers the materials it was sent; the form's second
		// row was blank and left out, so the API's [1] is the form's [2].
		if n := len(req.GetItem().GetMaterials()); n != 2 {
			t.Errorf("the API got %d materials, want 2 (the blank row left out)", n)
		}
		return nil, badRequest(
			reason.Violation{Field: "item.promised_limit_days", Description: "must not exceed the statutory limit: promised 8 > statutory 5 working days",
				Reason: reason.PromisedExceedsStatutory, Meta: reason.Meta{"promised": "8", "statutory": "5"}},
			reason.Violation{Field: "item.materials[1].name", Description: "is required", Reason: reason.Required},
			reason.Violation{Field: "item.unknown_field", Description: "something new", Reason: "SOMETHING_NEW"},
		)
	}
	_, page := f.do(t, "GET", "/admin/items/new", nil, session(adminToken))
	form := url.Values{
		"csrf": {csrfOf(t, page)}, "code": {"450122-T-1"}, "name": {"测试事项"},
		"statutory_limit_days": {"5"}, "promised_limit_days": {"8"}, "materials_rows": {"3"},
		"materials[0].name": {"申请表"}, "materials[1].name": {""}, "materials[2].name": {""}, "materials[2].notes": {"只填了备注"},
	}
	resp, page := f.do(t, "POST", "/admin/items", form, session(adminToken))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	for _, want := range []string{
		`id="e-promised_limit_days">承诺时限不能超过法定时限（承诺 8 个工作日 &gt; 法定 5 个工作日）`,
		`id="e-materials-2--name">必填`,
		`<a href="#f-promised_limit_days">承诺时限</a>`,
		`<a href="#f-materials-2--name">申请材料第 3 行材料名称</a>`,
		`item.unknown_field：填写的内容不符合要求`, // a field the form does not have, a reason the catalogue does not know
		`value="测试事项"`,                  // what was typed stays
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not contain %s", want)
		}
	}
}

func TestAPIErrorsBecomePages(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		code     int
		want     string
		location string
	}{
		{"401: sign in", status.Error(codes.Unauthenticated, "token expired"), http.StatusSeeOther, "", "/login?next=%2Fadmin%2Fgrants"},
		{"403: 无权限", status.Error(codes.PermissionDenied, "not a county admin"), http.StatusForbidden, "无权限", ""},
		{"404", status.Error(codes.NotFound, "no such item"), http.StatusNotFound, "未找到", ""},
		{"503", status.Error(codes.Unavailable, "county unreachable"), http.StatusServiceUnavailable, "服务暂时不可用", ""},
		{"500", status.Error(codes.Internal, "boom"), http.StatusInternalServerError, "系统错误", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.reg.listGrants = func(context.Context) (*yizhanv1.ListGrantsResponse, error) { return nil, tc.err }
			resp, page := f.do(t, "GET", "/admin/grants", nil, session(adminToken))
			if resp.StatusCode != tc.code {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.code)
			}
			if !strings.Contains(page, tc.want) {
				t.Errorf("the page does not show %q", tc.want)
			}
			if got := resp.Header.Get("Location"); got != tc.location {
				t.Errorf("location %q, want %q", got, tc.location)
			}
		})
	}
}

func TestAdminPagesNeedAnAdmin(t *testing.T) {
	f := newFixture(t)
	resp, _ := f.do(t, "GET", "/admin/items", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
		t.Errorf("signed out: %d to %q, want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page := f.do(t, "GET", "/admin/items", nil, session(agentToken))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "无权限") {
		t.Errorf("a village agent: %d, want 403 无权限", resp.StatusCode)
	}
	resp, _ = f.do(t, "GET", "/admin/items", nil, session("stale-token"))
	if c := cookieOf(resp, sessionCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("a stale session cookie is not cleared: %+v", c)
	}
}

func TestLogoutClearsTheSession(t *testing.T) {
	f := newFixture(t)
	_, page := f.do(t, "GET", "/", nil, session(adminToken))
	resp, _ := f.do(t, "POST", "/logout", url.Values{"csrf": {csrfOf(t, page)}}, session(adminToken))
	c := cookieOf(resp, sessionCookie)
	if resp.StatusCode != http.StatusSeeOther || c == nil || c.Value != "" || c.MaxAge >= 0 || !c.HttpOnly {
		t.Errorf("sign-out: %d, cookie %+v; want 303 and the cookie cleared", resp.StatusCode, c)
	}
}

func TestPagesAreCompressedAndCached(t *testing.T) {
	f := newFixture(t)
	req := httptest.NewRequest("GET", "/items", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate")
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	if w.Header().Get("Content-Encoding") != "gzip" {
		t.Errorf("catalogue page not gzipped")
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options"} {
		if w.Header().Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	s := f.h.(*server)
	resp, _ := f.do(t, "GET", "/static/style.css?v="+s.css.hash, nil)
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("versioned CSS Cache-Control %q", cc)
	}
}

// The supervision page's scripts are served whole, compressed for a
// browser that takes gzip, and not again when its copy is current, by
// every server of the process (which share one compressed copy).
func TestScriptsAreServedCompressedAndCached(t *testing.T) {
	withSupervision := func(c *Config) { c.Supervision = yizhanv1.UnimplementedSupervisionServiceServer{} }
	servers := []*fixture{newFixture(t, withSupervision), newFixture(t, withSupervision)}
	for _, script := range []struct {
		path string
		body []byte
	}{{"/static/echarts.min.js", echartsJS}, {"/static/charts.js", chartsJS}} {
		for _, f := range servers {
			req := httptest.NewRequest("GET", script.path, nil)
			req.Header.Set("Accept-Encoding", "gzip")
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, req)
			if w.Code != http.StatusOK || w.Header().Get("Content-Encoding") != "gzip" {
				t.Fatalf("%s: %d, Content-Encoding %q; want 200, gzip", script.path, w.Code, w.Header().Get("Content-Encoding"))
			}
			zr, err := gzip.NewReader(w.Body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(got, script.body) {
				t.Fatalf("%s: the compressed body is not the script (%d bytes, %v)", script.path, len(got), err)
			}

			req = httptest.NewRequest("GET", script.path, nil)
			req.Header.Set("If-None-Match", w.Header().Get("ETag"))
			w = httptest.NewRecorder()
			f.h.ServeHTTP(w, req)
			if w.Code != http.StatusNotModified {
				t.Errorf("%s with its ETag: %d, want 304", script.path, w.Code)
			}
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "/",
		"/admin/grants?x=1":  "/admin/grants?x=1",
		"//evil.example/":    "/",
		"/\\evil.example":    "/",
		"https://evil.test/": "/",
		"admin":              "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseItemFee(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fen  int64
		fail bool
	}{
		{"20", 2000, false}, {"20.5", 2050, false}, {"0.05", 5, false}, {"", 0, false},
		{"20.555", 0, true}, {"-1", 0, true}, {"二十", 0, true},
	} {
		it, _, errs := parseItem(url.Values{"fee": {tc.in}})
		if errs.Has("fee") != tc.fail || (!tc.fail && it.GetFeeCents() != tc.fen) {
			t.Errorf("fee %q: %d fen, error %v; want %d, error %v", tc.in, it.GetFeeCents(), errs.Has("fee"), tc.fen, tc.fail)
		}
	}
}

// The item form carries the extension limit of the item's law (§42)
// both ways: shown when set, blank for the law's default of 10, and
// sent on an edit (an update names every editable field).
func TestItemFormCarriesTheExtensionLimit(t *testing.T) {
	it, _, errs := parseItem(url.Values{"extension_limit_days": {"15"}})
	if errs.Has("extension_limit_days") || it.GetExtensionLimitDays() != 15 {
		t.Errorf("parsed: %d, errors %v", it.GetExtensionLimitDays(), errs)
	}
	if v := itemValues(it).Get("extension_limit_days"); v != "15" {
		t.Errorf("the form shows %q, want 15", v)
	}
	if v := itemValues(&yizhanv1.Item{}).Get("extension_limit_days"); v != "" {
		t.Errorf("the form shows %q for the law's default, want it blank", v)
	}
	if !slices.Contains(editableItemFields, "extension_limit_days") {
		t.Error("an edit does not send the extension limit")
	}
	if _, _, errs := parseItem(url.Values{"extension_limit_days": {"十"}}); !errs.Has("extension_limit_days") {
		t.Error("a limit that is no number was taken")
	}
}

func TestDayRanges(t *testing.T) {
	d := func(s string) time.Time { t, _ := time.Parse("2006-01-02", s); return t }
	got := dayRanges([]time.Time{d("2026-10-01"), d("2026-10-02"), d("2026-10-05"), d("2026-10-06"), d("2026-10-07"), d("2026-12-31")}, true)
	if want := "10月1日至7日、12月31日"; got != want {
		t.Errorf("dayRanges = %q, want %q", got, want)
	}
}

func TestAFormKeepsItsInputWhenTheCountyIsOutOfReach(t *testing.T) {
	f := newFixture(t)
	f.reg.createItem = func(*yizhanv1.CreateItemRequest) (*yizhanv1.ItemWriteResponse, error) {
		return nil, status.Error(codes.Unavailable, "county unreachable")
	}
	_, page := f.do(t, "GET", "/admin/items/new", nil, session(adminToken))
	resp, page := f.do(t, "POST", "/admin/items", url.Values{"csrf": {csrfOf(t, page)}, "code": {"450122-T-1"}, "name": {"离线时填写的事项"}}, session(adminToken))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
	for _, want := range []string{"暂时无法连接县级节点", `value="离线时填写的事项"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not contain %s", want)
		}
	}
}

func TestCaseActionErrorsShowNextToTheirFields(t *testing.T) {
	f := newFixture(t)
	f.cases.refuse = func(req *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
		if req.GetNumber() != caseNumber || req.GetReason() != "材料虚假" {
			t.Errorf("refuse got %v", req)
		}
		return nil, badRequest(reason.Violation{Field: "legal_basis", Description: "is required: a refusal cites its legal basis", Reason: reason.Required})
	}
	_, page := f.do(t, "GET", "/cases/"+caseNumber, nil, session(adminClerkToken))
	if !strings.Contains(page, `id="act-refuse"`) {
		t.Fatalf("no refuse form on the case page:\n%s", page)
	}
	form := url.Values{"csrf": {csrfOf(t, page)}, "action": {"refuse"}, "reason": {"材料虚假"}}
	resp, page := f.do(t, "POST", "/cases/"+caseNumber+"/act", form, session(adminClerkToken))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	for _, want := range []string{
		`id="e-refuse-legal_basis">必填`,
		`<a href="#f-refuse-legal_basis">不予受理：法律依据</a>`,
		`<details class="act" open id="act-refuse">`, // the failed form is open
		`材料虚假</textarea>`,                            // as typed
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not contain %s", want)
		}
	}

	// Without its CSRF token the action is not even asked for.
	delete(form, "csrf")
	before := f.cases.refuses.Load()
	resp, _ = f.do(t, "POST", "/cases/"+caseNumber+"/act", form, session(adminClerkToken))
	if resp.StatusCode != http.StatusForbidden || f.cases.refuses.Load() != before {
		t.Errorf("action without a CSRF token: status %d, %d calls", resp.StatusCode, f.cases.refuses.Load()-before)
	}
}

func TestAnotherOfficesCaseIsRefused(t *testing.T) {
	f := newFixture(t)
	f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		return nil, status.Error(codes.PermissionDenied, "case is not on the path of office 450122101204")
	}
	resp, page := f.do(t, "GET", "/cases/"+caseNumber, nil, session(agentToken))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "无权限") {
		t.Errorf("status %d, want 403 无权限", resp.StatusCode)
	}
}

func TestTrackingWithAWrongQueryCode(t *testing.T) {
	f := newFixture(t)
	f.cases.getCase = func(req *yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		if req.GetQueryCode() != "12345678" {
			return nil, status.Error(codes.NotFound, "no case with that query code")
		}
		return &yizhanv1.CaseResponse{Case: filedCase()}, nil
	}
	resp, page := f.do(t, "GET", "/track", nil)
	pre := cookieOf(resp, preCookie)
	token := csrfOf(t, page)
	resp, page = f.do(t, "POST", "/track", url.Values{"csrf": {token}, "number": {caseNumber}, "query_code": {"00000000"}}, pre)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(page, "没有找到该办件") {
		t.Errorf("wrong code: status %d", resp.StatusCode)
	}
	resp, page = f.do(t, "POST", "/track", url.Values{"csrf": {token}, "number": {caseNumber}, "query_code": {"12345678"}}, pre)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "待受理") || !strings.Contains(page, "4501**********6028") {
		t.Errorf("right code: status %d", resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("a tracked case's page: Cache-Control %q, want no-store", cc)
	}
}

// A number of copies past what the API takes (an int32) is named on the
// form, and not sent wrapped round to another number (4294967297 was 1).
func TestFilingCopiesPastTheirRangeAreNamed(t *testing.T) {
	f := newFixture(t)
	f.reg.getItem = func(*yizhanv1.GetItemRequest) (*yizhanv1.GetItemResponse, error) {
		return &yizhanv1.GetItemResponse{Item: &yizhanv1.Item{Code: "450122-YC-001", Name: "烟草专卖零售许可证核发",
			Materials: []*yizhanv1.Material{{Name: "营业执照", Required: true, Copies: 1}}}}, nil
	}
	var filed atomic.Int32
	f.cases.file = func(context.Context, *yizhanv1.FileCaseRequest) (*yizhanv1.CaseResponse, error) {
		filed.Add(1)
		return &yizhanv1.CaseResponse{Case: filedCase()}, nil
	}
	for _, copies := range []string{"4294967297", "-1", "1.5"} {
		resp, page := f.do(t, "GET", "/cases/new?item=450122-YC-001", nil)
		form := url.Values{"csrf": {csrfOf(t, page)}, "item_code": {"450122-YC-001"}, "applicant.name": {"黄小明"},
			"materials": {"营业执照"}, "copies.营业执照": {copies}}
		resp, page = f.do(t, "POST", "/cases", form, cookieOf(resp, preCookie))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "份数须为不小于 0 的整数") {
			t.Errorf("copies %s: %d", copies, resp.StatusCode)
		}
	}
	if n := filed.Load(); n != 0 {
		t.Errorf("%d filings sent", n)
	}
}

func TestFilingShowsTheQueryCodeOnce(t *testing.T) {
	f := newFixture(t)
	f.reg.getItem = func(*yizhanv1.GetItemRequest) (*yizhanv1.GetItemResponse, error) {
		return &yizhanv1.GetItemResponse{Item: &yizhanv1.Item{Code: "450122-YC-001", Name: "烟草专卖零售许可证核发",
			Materials: []*yizhanv1.Material{{Name: "营业执照", Required: true, Copies: 1}}}}, nil
	}
	f.cases.file = func(ctx context.Context, req *yizhanv1.FileCaseRequest) (*yizhanv1.CaseResponse, error) {
		if auth.BearerToken(ctx) != "" {
			t.Error("a citizen's filing carries a token")
		}
		c := filedCase()
		c.QueryCode = "87654321"
		return &yizhanv1.CaseResponse{Case: c}, nil
	}
	resp, page := f.do(t, "GET", "/cases/new?item=450122-YC-001", nil)
	pre := cookieOf(resp, preCookie)
	form := url.Values{"csrf": {csrfOf(t, page)}, "item_code": {"450122-YC-001"}, "applicant.name": {"黄小明"}}
	resp, _ = f.do(t, "POST", "/cases", form, pre)
	receipt := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(receipt, "/cases/filed/") || strings.Contains(receipt, "87654321") {
		t.Fatalf("filing: %d to %q, want 303 to a receipt without the query code in its URL", resp.StatusCode, receipt)
	}
	if resp, _ := f.do(t, "GET", receipt, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the receipt without the filing browser's cookie: status %d, want 404", resp.StatusCode)
	}
	resp, page = f.do(t, "GET", receipt, nil, pre)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="query-code">87654321`) {
		t.Errorf("status %d; the query code is not on the receipt", resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if !strings.Contains(page, "营业执照（受理窗口会一次性告知补正）") {
		t.Error("the missing material is not named")
	}
}

func TestRatingAClosedCase(t *testing.T) {
	f := newFixture(t)
	var rated atomic.Bool
	f.cases.getCase = func(req *yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		if req.GetQueryCode() != "12345678" {
			return nil, status.Error(codes.NotFound, "no case with that query code")
		}
		c := filedCase()
		c.State, c.LastSeq, c.AllowedActions = yizhanv1.CaseState_CASE_STATE_CLOSED, 15, []string{"rate", "complain"}
		if rated.Load() {
			c.Rating, c.RatingComment, c.LastSeq, c.AllowedActions = yizhanv1.Rating_RATING_DISSATISFIED, "跑了两趟", 16, []string{"complain"}
		}
		return &yizhanv1.CaseResponse{Case: c}, nil
	}
	f.cases.rate = func(ctx context.Context, req *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
		if auth.BearerToken(ctx) != "" {
			t.Error("a citizen's rating carries a token")
		}
		if req.GetNumber() != caseNumber || req.GetQueryCode() != "12345678" || req.GetRating() != yizhanv1.Rating_RATING_DISSATISFIED {
			t.Errorf("rate got %v", req)
		}
		if req.GetReason() == "" {
			return nil, badRequest(reason.Violation{Field: "reason", Description: "is required for a rating of RATING_DISSATISFIED: say what went wrong, so that it can be followed up",
				Reason: reason.Required, Meta: reason.Meta{"rating": "RATING_DISSATISFIED"}})
		}
		rated.Store(true)
		c := filedCase()
		c.LastSeq = 16
		return &yizhanv1.CaseResponse{Case: c}, nil
	}
	resp, page := f.do(t, "GET", "/track", nil)
	pre := cookieOf(resp, preCookie)
	token := csrfOf(t, page)
	_, page = f.do(t, "POST", "/track", url.Values{"csrf": {token}, "number": {caseNumber}, "query_code": {"12345678"}}, pre)
	for _, want := range []string{`action="/track/rate"`, `name="query_code" value="12345678"`, `value="1"> 非常满意`, `value="5"> 非常不满意`, `action="/track/complain"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the tracked closed case does not contain %s", want)
		}
	}

	// 不满意 without saying why: the error next to the comment, as chosen.
	form := url.Values{"csrf": {token}, "number": {caseNumber}, "query_code": {"12345678"}, "rating": {"4"}}
	resp, page = f.do(t, "POST", "/track/rate", form, pre)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad rating without a comment: status %d, want 400", resp.StatusCode)
	}
	for _, want := range []string{`id="e-rate-reason">必填：请写明哪里不满意`, `<a href="#f-rate-reason">好差评：评价说明</a>`, `value="4" checked> 不满意`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not contain %s", want)
		}
	}

	// Then with a comment: post, redirect, get, the query code in no URL.
	form.Set("reason", "跑了两趟")
	resp, _ = f.do(t, "POST", "/track/rate", form, pre)
	to := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(to, "/track/t/") || strings.Contains(to, "12345678") {
		t.Fatalf("rating: %d to %q, want 303 to a ticket without the query code", resp.StatusCode, to)
	}
	if resp, _ := f.do(t, "GET", to, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the ticket without the rating browser's cookie: status %d, want 404", resp.StatusCode)
	}
	resp, page = f.do(t, "GET", to, nil, pre)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "评价已提交") || !strings.Contains(page, "不满意</b> · 跑了两趟") {
		t.Errorf("after rating: status %d\n%s", resp.StatusCode, page)
	}
	if strings.Contains(page, `action="/track/rate"`) {
		t.Error("a rated case still offers the rating form")
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
}

func TestStaffDoNotRateForTheCitizen(t *testing.T) {
	f := newFixture(t)
	f.cases.getCase = func(req *yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		c := filedCase()
		c.State, c.AllowedActions = yizhanv1.CaseState_CASE_STATE_CLOSED, []string{"rate", "complain"} // asked as the citizen
		return &yizhanv1.CaseResponse{Case: c}, nil
	}
	f.cases.rate = func(ctx context.Context, req *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
		if auth.BearerToken(ctx) == "" {
			t.Error("a signed-in agent's rating was sent as the citizen's")
		}
		return nil, status.Error(codes.PermissionDenied, "dongcun is signed in as staff: the citizen does rate")
	}
	_, page := f.do(t, "GET", "/track", nil, session(agentToken))
	token := csrfOf(t, page)
	_, page = f.do(t, "POST", "/track", url.Values{"csrf": {token}, "number": {caseNumber}, "query_code": {"12345678"}}, session(agentToken))
	if strings.Contains(page, `action="/track/rate"`) || !strings.Contains(page, "工作人员登录状态下不能代为评价") {
		t.Errorf("a signed-in agent is offered the rating form")
	}
	form := url.Values{"csrf": {token}, "number": {caseNumber}, "query_code": {"12345678"}, "rating": {"1"}}
	if resp, page := f.do(t, "POST", "/track/rate", form, session(agentToken)); resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "无权限") {
		t.Errorf("a rating posted by a signed-in agent: status %d, want 403", resp.StatusCode)
	}
}

// The item form carries the fee's unit (计费单位) both ways, and an edit
// sends it.
func TestItemFormCarriesTheFeeUnit(t *testing.T) {
	it, _, errs := parseItem(url.Values{"fee": {"10"}, "fee_unit": {" 份 "}})
	if len(errs.order) > 0 || it.GetFeeUnit() != "份" || it.GetFeeCents() != 1000 {
		t.Errorf("parsed: %q, %d fen, errors %v", it.GetFeeUnit(), it.GetFeeCents(), errs)
	}
	if v := itemValues(it).Get("fee_unit"); v != "份" {
		t.Errorf("the form shows %q, want 份", v)
	}
	if !slices.Contains(editableItemFields, "fee_unit") {
		t.Error("an edit does not send the fee's unit")
	}
}

func (f *fakeRegistry) UpdateItem(_ context.Context, req *yizhanv1.UpdateItemRequest) (*yizhanv1.ItemWriteResponse, error) {
	f.updates = append(f.updates, req)
	return &yizhanv1.ItemWriteResponse{Item: req.GetItem()}, nil
}

// Retiring an item (废止) states its document: without it nothing is
// asked of the API; with it, the new version carries it as its change
// note.
func TestRetiringAnItemStatesWhy(t *testing.T) {
	f := newFixture(t)
	_, page := f.do(t, "GET", "/admin/items", nil, session(adminToken))
	form := url.Values{"csrf": {csrfOf(t, page)}, "retired": {"1"}}
	if resp, _ := f.do(t, "POST", "/admin/items/450122-YC-001/retire", form, session(adminToken)); resp.StatusCode != http.StatusBadRequest || len(f.reg.updates) != 0 {
		t.Fatalf("a retirement without its document: %s, %d updates", resp.Status, len(f.reg.updates))
	}
	form.Set("change_note", "县政府 2026 年第 12 号文")
	if resp, body := f.do(t, "POST", "/admin/items/450122-YC-001/retire", form, session(adminToken)); resp.StatusCode >= 400 {
		t.Fatalf("retire: %s\n%s", resp.Status, body)
	}
	if len(f.reg.updates) != 1 || !f.reg.updates[0].GetItem().GetRetired() || f.reg.updates[0].GetItem().GetChangeNote() != "县政府 2026 年第 12 号文" {
		t.Errorf("the API was asked %v", f.reg.updates)
	}
}

func (f *fakeRegistry) UpdateStaff(_ context.Context, req *yizhanv1.UpdateStaffRequest) (*yizhanv1.StaffWriteResponse, error) {
	f.staffUpdates = append(f.staffUpdates, req)
	m := proto.CloneOf(req.GetStaff())
	m.Username, m.OfficeCode = req.GetUsername(), county
	return &yizhanv1.StaffWriteResponse{Staff: m}, nil
}

func (f *fakeRegistry) CreateOffice(_ context.Context, req *yizhanv1.CreateOfficeRequest) (*yizhanv1.CreateOfficeResponse, error) {
	f.officeCreates = append(f.officeCreates, req)
	if !strings.HasPrefix(req.GetOffice().GetCode(), "450122") {
		return nil, fieldAnswer("office.code", "must be in the county's tree", "NOT_IN_TREE", "区划代码不在本县之下")
	}
	return &yizhanv1.CreateOfficeResponse{Office: req.GetOffice(), RegistryIndex: 1}, nil
}

func (f *fakeRegistry) CreateDepartment(_ context.Context, req *yizhanv1.CreateDepartmentRequest) (*yizhanv1.CreateDepartmentResponse, error) {
	f.departmentCreates = append(f.departmentCreates, req)
	return &yizhanv1.CreateDepartmentResponse{Department: req.GetDepartment(), RegistryIndex: 1}, nil
}

func (f *fakeRegistry) UpdateOffice(_ context.Context, req *yizhanv1.UpdateOfficeRequest) (*yizhanv1.CreateOfficeResponse, error) {
	f.officeUpdates = append(f.officeUpdates, req)
	return &yizhanv1.CreateOfficeResponse{Office: req.GetOffice()}, nil
}

// The admin forms ask the API for what the admin chose: a staff member
// disabled, roles changed, a password reset; an office renamed with its
// address, phone and the authority whose name its documents bear.
func TestAdminEditsReachTheAPI(t *testing.T) {
	f := newFixture(t)
	_, page := f.do(t, "GET", "/admin/items", nil, session(adminToken))
	token := csrfOf(t, page)
	form := url.Values{"csrf": {token}, "name": {"陈静"}, "department_code": {"yc"}, "disabled": {"1"},
		"roles": {strconv.Itoa(int(yizhanv1.Role_ROLE_CLERK)), strconv.Itoa(int(yizhanv1.Role_ROLE_REVIEWER))}, "new_password": {"Yizhan-2026-reset"}}
	if resp, body := f.do(t, "POST", "/admin/staff/chenjing", form, session(adminToken)); resp.StatusCode >= 400 {
		t.Fatalf("staff edit: %s\n%s", resp.Status, body)
	}
	if len(f.reg.staffUpdates) != 1 {
		t.Fatalf("%d staff updates", len(f.reg.staffUpdates))
	}
	u := f.reg.staffUpdates[0]
	if u.GetUsername() != "chenjing" || !u.GetStaff().GetDisabled() || len(u.GetStaff().GetRoles()) != 2 || u.GetNewPassword() != "Yizhan-2026-reset" ||
		u.GetStaff().GetDepartmentCode() != "yc" {
		t.Errorf("the API was asked %v", u)
	}
	office := url.Values{"csrf": {token}, "name": {"城关镇便民服务中心"}, "address": {"城关镇人民路 1 号"}, "phone": {"0771-6201001"}, "authority": {"城关镇人民政府"}}
	if resp, body := f.do(t, "POST", "/admin/offices/office/450122101000", office, session(adminToken)); resp.StatusCode >= 400 {
		t.Fatalf("office edit: %s\n%s", resp.Status, body)
	}
	if len(f.reg.officeUpdates) != 1 || f.reg.officeUpdates[0].GetCode() != "450122101000" ||
		f.reg.officeUpdates[0].GetOffice().GetAuthority() != "城关镇人民政府" || f.reg.officeUpdates[0].GetOffice().GetPhone() != "0771-6201001" {
		t.Errorf("the API was asked %v", f.reg.officeUpdates)
	}
	// Not an admin: nothing is asked.
	if resp, _ := f.do(t, "POST", "/admin/staff/chenjing", form, session(adminClerkToken)); resp.StatusCode < 300 || len(f.reg.staffUpdates) != 1 {
		t.Errorf("a clerk's staff edit: %s, %d updates", resp.Status, len(f.reg.staffUpdates))
	}

	// A new village point and a new department; a code the registry
	// refuses is named on the form, kept as typed.
	village := url.Values{"csrf": {token}, "code": {" 450122101205 "}, "name": {"南坡村便民服务站"}, "authority": {"城关镇人民政府"}, "phone": {"0771-6201205"}}
	if resp, body := f.do(t, "POST", "/admin/offices/office", village, session(adminToken)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a new office: %s\n%s", resp.Status, body)
	}
	if len(f.reg.officeCreates) != 1 || f.reg.officeCreates[0].GetOffice().GetCode() != "450122101205" || f.reg.officeCreates[0].GetOffice().GetName() != "南坡村便民服务站" ||
		f.reg.officeCreates[0].GetOffice().GetAuthority() != "城关镇人民政府" {
		t.Errorf("the API was asked %v", f.reg.officeCreates)
	}
	village.Set("code", "999999101205")
	resp, body := f.do(t, "POST", "/admin/offices/office", village, session(adminToken))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "区划代码不在本县之下") || !strings.Contains(body, `value="999999101205"`) ||
		!strings.Contains(body, `<details class="act" id="new-office" open>`) {
		t.Errorf("a code outside the county: %s\n%s", resp.Status, body)
	}
	dep := url.Values{"csrf": {token}, "code": {"sw"}, "name": {"县税务局"}}
	if resp, body := f.do(t, "POST", "/admin/offices/department", dep, session(adminToken)); resp.StatusCode != http.StatusSeeOther ||
		len(f.reg.departmentCreates) != 1 || f.reg.departmentCreates[0].GetDepartment().GetName() != "县税务局" {
		t.Errorf("a new department: %s, asked %v\n%s", resp.Status, f.reg.departmentCreates, body)
	}
	if resp, _ := f.do(t, "POST", "/admin/offices/department", dep, session(adminClerkToken)); resp.StatusCode < 300 || len(f.reg.departmentCreates) != 1 {
		t.Errorf("a clerk's new department: %s, %d asked", resp.Status, len(f.reg.departmentCreates))
	}
}

// The admin's 操作记录 page asks the API with the filters chosen and
// shows each write in the admin's words (操作, the fields by their
// labels, roles by name, the change note) with a link to the older ones;
// a clerk is not shown it.
func TestAuditTrailPage(t *testing.T) {
	f := newFixture(t)
	resp, page := f.do(t, "GET", "/admin/changes?kind=staff&target=chenjing&actor=admin", nil, session(adminToken))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s\n%s", resp.Status, page)
	}
	if len(f.reg.changeQueries) != 1 {
		t.Fatalf("%d queries", len(f.reg.changeQueries))
	}
	if q := f.reg.changeQueries[0]; q.GetKind() != "staff" || q.GetTarget() != "chenjing" || q.GetActor() != "admin" || q.GetPageToken() != "" {
		t.Errorf("the API was asked %v", q)
	}
	for _, want := range []string{"2026-12-01 17:30", "工作人员 <span class=\"code\">chenjing</span> 陈静", "<td>停用</td>", "停用：— → 是",
		"角色：窗口工作人员 → 窗口工作人员、审核人", "<td>废止</td>", "修改说明：依据县政府第 12 号文废止", "操作记录</a>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if !strings.Contains(page, `href="/admin/changes?actor=admin&amp;kind=staff&amp;page=41&amp;target=chenjing"`) {
		t.Errorf("no link to the older records with the same filters:\n%s", page)
	}
	f.do(t, "GET", "/admin/changes?page=41", nil, session(adminToken))
	if q := f.reg.changeQueries[len(f.reg.changeQueries)-1]; q.GetPageToken() != "41" {
		t.Errorf("the older page asked %v", q)
	}
	// A code without its kind: not filtered, and the page says why.
	_, page = f.do(t, "GET", "/admin/changes?target=chenjing", nil, session(adminToken))
	if q := f.reg.changeQueries[len(f.reg.changeQueries)-1]; q.GetTarget() != "" || !strings.Contains(page, "请先选择对象类别") {
		t.Errorf("a code without its kind asked %v", q)
	}
	if resp, _ := f.do(t, "GET", "/admin/changes", nil, session(adminClerkToken)); resp.StatusCode == http.StatusOK || len(f.reg.changeQueries) != 3 {
		t.Errorf("a clerk's 操作记录: %s, %d queries", resp.Status, len(f.reg.changeQueries))
	}
}

// Pages are parsed when first shown: every embedded page parses with the
// layout and the partials, each once, and an unknown page is an error.
func TestEveryPageParses(t *testing.T) {
	p, err := newPageSet(templateFS, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.pages) < 30 {
		t.Fatalf("%d pages found", len(p.pages))
	}
	for name := range p.pages {
		first, err := p.page(name)
		if err != nil {
			t.Fatalf("page %s: %v", name, err)
		}
		if first.Lookup("layout") == nil {
			t.Errorf("page %s has no layout", name)
		}
		if again, _ := p.page(name); again != first {
			t.Errorf("page %s parsed twice", name)
		}
	}
	if n := int(p.parses.Load()); n != len(p.pages) {
		t.Errorf("%d pages parsed of %d", n, len(p.pages))
	}
	if _, err := p.page("no-such-page"); err == nil {
		t.Error("an unknown page was found")
	}
	fresh, _ := newPageSet(templateFS, "test")
	if fresh.parses.Load() != 0 {
		t.Error("a new page set parsed pages before they were asked for")
	}
}

// fakeGate is a Config.Gate whose book is being replaced while restoring
// is set, and was replaced during the request when replaced is.
type fakeGate struct{ restoring, replaced atomic.Bool }

func (g *fakeGate) Enter() (uint64, error) {
	if g.restoring.Load() {
		return 0, reason.Status(reason.BookRestoring, "restoring", nil, 0).Err()
	}
	return 1, nil
}

func (g *fakeGate) Left(uint64) error {
	if g.replaced.Load() {
		return reason.Status(reason.BookRestoring, "restoring", nil, 0).Err()
	}
	return nil
}

// A node restoring its book shows the page saying so (503, in Chinese),
// and not a page read from part of the book, nor "no such case" when the
// case was looked up in part of it; a form posted meanwhile, and done, is
// answered as done.
func TestPagesOfABookBeingRestored(t *testing.T) {
	gate := &fakeGate{}
	f := newFixture(t, func(c *Config) { c.Gate = gate })
	zh := reason.Text(reason.BookRestoring, nil)
	if resp, body := f.do(t, "GET", "/items", nil); resp.StatusCode != http.StatusOK || strings.Contains(body, zh) {
		t.Fatalf("the catalogue of a whole book: %d", resp.StatusCode)
	}
	gate.restoring.Store(true)
	if resp, body := f.do(t, "GET", "/items", nil); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, zh) {
		t.Errorf("the catalogue while restoring: %d %s", resp.StatusCode, body)
	}
	gate.restoring.Store(false)
	resp, page := f.do(t, "GET", "/login", nil)
	gate.replaced.Store(true) // the restore began while the page was read
	if resp, body := f.do(t, "GET", "/items", nil); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, zh) {
		t.Errorf("the catalogue read while a restore began: %d %s", resp.StatusCode, body)
	}
	resp, _ = f.do(t, "POST", "/login", url.Values{"csrf": {csrfOf(t, page)}, "username": {"admin"}, "password": {"right"}}, cookieOf(resp, preCookie))
	if resp.StatusCode != http.StatusSeeOther || cookieOf(resp, sessionCookie) == nil {
		t.Errorf("a sign-in done while a restore began: %d", resp.StatusCode)
	}
	f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		return nil, reason.Status(reason.CaseNotFound, "no such case", nil, 0).Err()
	}
	if resp, body := f.do(t, "GET", "/cases/"+caseNumber, nil, session(adminClerkToken)); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, zh) {
		t.Errorf("a case not found while a restore began: %d %s", resp.StatusCode, body)
	}
	gate.replaced.Store(false)
	if resp, _ := f.do(t, "GET", "/cases/"+caseNumber, nil, session(adminClerkToken)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a case not found in a whole book: %d", resp.StatusCode)
	}

	// Forms that only read (a search for an applicant's cases, a
	// citizen's tracking) are pages read: shown from a whole book, the
	// restoring page when a restore began meanwhile.
	var asked *yizhanv1.ListCasesRequest
	f.cases.listCases = func(req *yizhanv1.ListCasesRequest) (*yizhanv1.ListCasesResponse, error) {
		asked = req
		return &yizhanv1.ListCasesResponse{Cases: []*yizhanv1.Case{filedCase()}}, nil
	}
	f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		return &yizhanv1.CaseResponse{Case: filedCase()}, nil
	}
	_, page = f.do(t, "GET", "/cases", nil, session(adminClerkToken))
	search := url.Values{"csrf": {csrfOf(t, page)}, "applicant": {" 450122198703154510 "}, "overdue": {"1"}}
	resp, anon := f.do(t, "GET", "/track", nil)
	track := url.Values{"csrf": {csrfOf(t, anon)}, "number": {caseNumber}, "query_code": {"7KQ9-M3XP-2WHD"}}
	for _, replaced := range []bool{false, true} {
		gate.replaced.Store(replaced)
		asked = nil
		got, body := f.do(t, "POST", "/cases/search", search, session(adminClerkToken))
		switch {
		case replaced && (got.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, zh)):
			t.Errorf("a search read while a restore began: %d %s", got.StatusCode, body)
		case !replaced && (got.StatusCode != http.StatusOK || !strings.Contains(body, caseNumber) || asked.GetApplicant() != "450122198703154510" ||
			asked.GetOverdue() || asked.GetHistory()):
			t.Errorf("a search: %d, asked %v:\n%s", got.StatusCode, asked, body)
		}
		got, body = f.do(t, "POST", "/track", track, cookieOf(resp, preCookie))
		if want := map[bool]int{false: http.StatusOK, true: http.StatusServiceUnavailable}[replaced]; got.StatusCode != want || replaced != strings.Contains(body, zh) {
			t.Errorf("a case tracked (a restore began meanwhile: %v): %d, want %d", replaced, got.StatusCode, want)
		}
	}
}

// A form refused while the book was being replaced (the case's state
// read from part of it) shows the restoring page, not the refusal; a
// write that may have been done says so whatever the gate says. A scan
// downloaded while a restore begins is cut short, never completed from
// another copy of the book.
func TestFormsAndFilesOfABookBeingRestored(t *testing.T) {
	gate := &fakeGate{}
	f := newFixture(t, func(c *Config) { c.Gate = gate })
	zh := reason.Text(reason.BookRestoring, nil)
	_, page := f.do(t, "GET", "/cases/"+caseNumber, nil, session(adminClerkToken))
	form := url.Values{"csrf": {csrfOf(t, page)}, "action": {"refuse"}, "reason": {"材料虚假"}, "legal_basis": {"《行政许可法》"}}
	for _, tc := range []struct {
		name     string
		err      error
		replaced bool
		code     int
		want     string
	}{
		{"refused, the book whole", reason.Status(reason.CaseState, "accepted", reason.Meta{"state": "CASE_STATE_ACCEPTED", "action": "refuse"}, 0).Err(),
			false, http.StatusConflict, "未办理："},
		{"refused while a restore began", reason.Status(reason.CaseState, "accepted", reason.Meta{"state": "CASE_STATE_ACCEPTED", "action": "refuse"}, 0).Err(),
			true, http.StatusServiceUnavailable, zh},
		{"a field refused while a restore began", fieldAnswer("legal_basis", "must cite an article", "ARTICLE_REQUIRED", "请写明所依据的具体条款"),
			true, http.StatusServiceUnavailable, zh},
		{"perhaps done while a restore began", reason.Err(reason.OutcomeUnknown, "federation: leadership lost while the write was in flight"),
			true, http.StatusServiceUnavailable, "无法确定操作是否已经生效"},
	} {
		f.cases.refuse = func(*yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) { return nil, tc.err }
		gate.replaced.Store(tc.replaced)
		resp, page := f.do(t, "POST", "/cases/"+caseNumber+"/act", form, session(adminClerkToken))
		if resp.StatusCode != tc.code || !strings.Contains(page, tc.want) {
			t.Errorf("%s: %d, want %d and %q:\n%s", tc.name, resp.StatusCode, tc.code, tc.want, page)
		}
		if tc.want != zh && strings.Contains(page, zh) {
			t.Errorf("%s: the page says the book is being restored", tc.name)
		}
	}

	data := bytes.Repeat([]byte("%PDF-1.7 scan "), 100)
	const partBytes = 500
	var replaceAt atomic.Int64 // the part after which a restore begins; 0: none
	f.cases.attachment = func(req *yizhanv1.GetAttachmentRequest) (*yizhanv1.AttachmentPart, error) {
		if n := replaceAt.Load(); n > 0 && req.GetOffset() >= n*partBytes {
			gate.replaced.Store(true)
		}
		end := min(req.GetOffset()+partBytes, int64(len(data)))
		return &yizhanv1.AttachmentPart{Data: data[req.GetOffset():end], Offset: req.GetOffset(), Size: int64(len(data)), ContentType: "application/pdf"}, nil
	}
	path := "/cases/" + caseNumber + "/files/" + strings.Repeat("ab", 32)
	gate.replaced.Store(false)
	if resp, body := f.do(t, "GET", path, nil, session(adminClerkToken)); resp.StatusCode != http.StatusOK || body != string(data) {
		t.Errorf("a scan of a whole book: %d, %d of %d bytes", resp.StatusCode, len(body), len(data))
	}
	gate.replaced.Store(true)
	if resp, body := f.do(t, "GET", path, nil, session(adminClerkToken)); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, zh) {
		t.Errorf("a scan whose first part was read while a restore began: %d %s", resp.StatusCode, body)
	}
	gate.replaced.Store(false)
	replaceAt.Store(2)
	resp, body := f.do(t, "GET", path, nil, session(adminClerkToken))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Length") != strconv.Itoa(len(data)) || body != string(data[:2*partBytes]) {
		t.Errorf("a scan during whose download a restore began: %d, %d of %s bytes", resp.StatusCode, len(body), resp.Header.Get("Content-Length"))
	}
}

// A scan the reader may download is a link on the case's page; one whose
// hash the API left out (another department's, at the county) is named,
// with its size, and is no link.
func TestScansOnTheCasePage(t *testing.T) {
	f := newFixture(t)
	f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		c := filedCase()
		c.Materials = []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1, Files: []*yizhanv1.Attachment{
			{Sha256: strings.Repeat("ab", 32), Size: 2048, ContentType: "application/pdf", FileName: "申请表.pdf"},
			{Size: 4096, ContentType: "application/pdf", FileName: "身份证.pdf"}}}}
		return &yizhanv1.CaseResponse{Case: c}, nil
	}
	_, page := f.do(t, "GET", "/cases/"+caseNumber, nil, session(adminClerkToken))
	for _, want := range []string{`href="/cases/` + caseNumber + `/files/` + strings.Repeat("ab", 32) + `">扫描件：申请表.pdf</a>`,
		`<span class="file">扫描件：身份证.pdf（经办部门可查看）</span>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not show %s", want)
		}
	}
	if strings.Contains(page, `/files/"`) {
		t.Error("a link to a file without its hash")
	}
}
