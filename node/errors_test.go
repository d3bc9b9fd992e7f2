package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/hashicorp/raft"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// answer is what toStatus made of an error: its status, ErrorInfo and
// zh-CN LocalizedMessage.
type answer struct {
	st   *status.Status
	info *errdetails.ErrorInfo
	zh   string
}

func answerOf(t *testing.T, err error) answer {
	t.Helper()
	st, ok := status.FromError(toStatus(err))
	if !ok {
		t.Fatalf("toStatus(%v) is not a status", err)
	}
	a := answer{st: st, info: reason.Info(st), zh: reason.Localized(st)}
	if a.info.GetDomain() != reason.Domain || a.info.GetReason() == "" {
		t.Errorf("toStatus(%v): ErrorInfo %v", err, a.info)
	}
	if !chinese(a.zh) {
		t.Errorf("toStatus(%v): LocalizedMessage %q is not Chinese", err, a.zh)
	}
	return a
}

func chinese(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
}

func TestToStatusSaysWhetherARetryIsSafe(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		code   codes.Code
		reason string
	}{
		{"not the leader", fmt.Errorf("%w: %v", raftgroup.ErrNotLeader, raft.ErrNotLeader), codes.Unavailable, reason.NotLeader},
		{"no leader", raftgroup.ErrNoLeader, codes.Unavailable, reason.NoLeader},
		{"catching up", federation.ErrCatchingUp, codes.Unavailable, reason.CatchingUp},
		{"outcome unknown", fmt.Errorf("%w: %v", raftgroup.ErrOutcomeUnknown, raft.ErrLeadershipLost), codes.Aborted, reason.OutcomeUnknown},
		{"the caller's deadline", context.DeadlineExceeded, codes.DeadlineExceeded, reason.DeadlineExceeded},
		{"the caller's deadline, wrapped", fmt.Errorf("append: %w", context.DeadlineExceeded), codes.DeadlineExceeded, reason.DeadlineExceeded},
		{"cancelled", context.Canceled, codes.Canceled, reason.Canceled},
		{"too large", fmt.Errorf("%w: 5 MB", raftgroup.ErrTooLarge), codes.InvalidArgument, reason.TooLarge},
		{"request id reused", fmt.Errorf("%w: %q", raftgroup.ErrRequestConflict, "abc"), codes.Aborted, reason.RequestIDReused},
		{"a registry conflict", fmt.Errorf("item: %w", registry.ErrConflict), codes.Aborted, reason.Conflict},
		{"no route", fmt.Errorf("x: %w", casework.ErrNoRoute), codes.FailedPrecondition, reason.NoRoute},
		{"a plain error", errors.New("disk on fire"), codes.Internal, reason.Internal},
		{"a status without reason", status.Error(codes.Unavailable, "connection refused"), codes.Unavailable, reason.Unreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := answerOf(t, tc.err)
			if a.st.Code() != tc.code || a.info.GetReason() != tc.reason {
				t.Errorf("toStatus(%v) = %s %s, want %s %s", tc.err, a.st.Code(), a.info.GetReason(), tc.code, tc.reason)
			}
		})
	}
	if a := answerOf(t, raftgroup.ErrOutcomeUnknown); !strings.Contains(a.st.Message(), "look before retrying") || !strings.Contains(a.zh, "无法确定") {
		t.Errorf("outcome unknown: %q / %q", a.st.Message(), a.zh)
	}
}

// stateError is a refusal for the case's state as casework makes one: an
// error that names its reason, wrapping casework.ErrFailedPrecondition.
type stateError struct{}

func (stateError) Error() string { return "case is CASE_STATE_ACCEPTED: review it first" }
func (stateError) Unwrap() error { return casework.ErrFailedPrecondition }
func (stateError) ErrorReason() (string, reason.Meta) {
	return reason.CaseState, reason.Meta{"state": "CASE_STATE_ACCEPTED", "action": "certify", "event": "EVENT_TYPE_CERTIFIED"}
}

func TestToStatusOfAStateErrorCarriesTheStateAndTheAction(t *testing.T) {
	// casework's own: certify a case that is only accepted.
	c := &yizhanv1.Case{Number: "450122000000-20260105-0001", State: yizhanv1.CaseState_CASE_STATE_ACCEPTED, OwnerOffice: "450122000000",
		OriginOffice: "450122000000", ItemCode: "450122-YC-001"}
	clerk := casework.Actor{Username: "clerk", Office: "450122000000", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}
	_, err := casework.NewEvent(c, nil, casework.ActionCertify, &yizhanv1.CaseActionRequest{CertificateNumber: "1"}, clerk, "450122000000",
		time.Now(), registry.New(registry.Options{}))
	real := answerOf(t, err)
	if m := real.info.GetMetadata(); real.st.Code() != codes.FailedPrecondition || real.info.GetReason() != reason.CaseState ||
		m["state"] != "CASE_STATE_ACCEPTED" || m["action"] != "certify" || !strings.HasPrefix(real.zh, "办件当前为“已受理”") {
		t.Errorf("casework's refusal: %s %s %v %q (%v)", real.st.Code(), real.info.GetReason(), m, real.zh, err)
	}

	a := answerOf(t, fmt.Errorf("case 450122101203-20260105-0001: %w", stateError{}))
	if a.st.Code() != codes.FailedPrecondition || a.info.GetReason() != reason.CaseState {
		t.Fatalf("%s %s", a.st.Code(), a.info.GetReason())
	}
	if m := a.info.GetMetadata(); m["state"] != "CASE_STATE_ACCEPTED" || m["action"] != "certify" {
		t.Errorf("metadata %v", m)
	}
	if a.zh != "办件当前为“已受理”，不能制证。" {
		t.Errorf("LocalizedMessage %q", a.zh)
	}
	if !strings.Contains(a.st.Message(), "CASE_STATE_ACCEPTED") {
		t.Errorf("the English message %q lost the state", a.st.Message())
	}
}

func TestToStatusOfInvalidInputKeepsBadRequestAndSaysItInChinese(t *testing.T) {
	reg := registry.New(registry.Options{})
	run := func(index uint64, cmd *peerv1.RegistryCommand) {
		t.Helper()
		if _, err := reg.Apply(index, cmd); err != nil {
			t.Fatal(err)
		}
	}
	run(1, &peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateOffice{CreateOffice: &peerv1.CreateOffice{
		Office: &yizhanv1.Office{Code: "450122000000", Name: "青山县政务服务中心"}}}})
	run(2, &peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateDepartment{CreateDepartment: &peerv1.CreateDepartment{
		Department: &yizhanv1.Department{Code: "yc", Name: "县烟草专卖局"}}}})
	err := reg.Check(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateItem{CreateItem: &peerv1.CreateItem{Item: &yizhanv1.Item{
		Code: "450122-YC-001", Name: "烟草专卖零售许可证核发", DepartmentCode: "xx", CoDepartmentCodes: []string{"yc", "yc"},
		Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE, CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
		StatutoryLimitDays: 5, PromisedLimitDays: 8,
		Materials: []*yizhanv1.Material{{Name: "申请表", Copies: -1}},
	}}}})
	a := answerOf(t, err)
	if a.st.Code() != codes.InvalidArgument || a.info.GetReason() != reason.InvalidArgument {
		t.Fatalf("%s %s: %v", a.st.Code(), a.info.GetReason(), err)
	}
	var br *errdetails.BadRequest
	for _, d := range a.st.Details() {
		if b, ok := d.(*errdetails.BadRequest); ok {
			br = b
		}
	}
	want := map[string]struct{ reason, zh string }{
		"item.promised_limit_days":    {reason.PromisedExceedsStatutory, "承诺时限不能超过法定时限（承诺 8 个工作日 > 法定 5 个工作日）"},
		"item.department_code":        {reason.DepartmentNotFound, "部门“xx”不存在"},
		"item.co_department_codes[1]": {reason.Duplicate, "与前面的重复"},
		"item.materials[0].copies":    {reason.OutOfRange, "不能为负数"},
	}
	for _, fv := range br.GetFieldViolations() {
		if fv.GetReason() == "" || fv.GetDescription() == "" || !chinese(fv.GetLocalizedMessage().GetMessage()) || fv.GetLocalizedMessage().GetLocale() != "zh-CN" {
			t.Errorf("violation %v has no reason, description or Chinese text", fv)
		}
		if w, ok := want[fv.GetField()]; ok {
			if fv.GetReason() != w.reason || fv.GetLocalizedMessage().GetMessage() != w.zh {
				t.Errorf("%s: %s %q, want %s %q", fv.GetField(), fv.GetReason(), fv.GetLocalizedMessage().GetMessage(), w.reason, w.zh)
			}
			delete(want, fv.GetField())
		}
	}
	for f := range want {
		t.Errorf("no violation of %s in %v", f, br)
	}
	first := br.GetFieldViolations()[0]
	if m := a.info.GetMetadata(); m["field"] != first.GetField() || m["fieldReason"] != first.GetReason() {
		t.Errorf("ErrorInfo metadata %v, want the first field %s", m, first.GetField())
	}
	if !strings.HasPrefix(a.zh, first.GetField()+"："+first.GetLocalizedMessage().GetMessage()) {
		t.Errorf("LocalizedMessage %q, want the first field's", a.zh)
	}
}
