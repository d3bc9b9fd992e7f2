package duty

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// The seed's 第五篇 names the failure: 值班人员未将来电人身份、来电时间、联系电话
// 及会议具体事宜作详细记录. A call names who called and the number to call
// back (or says the number was not shown, 未显示号码); a notice names who
// sent it, the caller or their unit; the time it came is not after it is
// written (a few minutes of a clock ahead allowed) nor from another day.
func TestLogEntryNamesWhoWhenAndNumber(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	call := &yizhanv1.DutyLogEntry{Kind: yizhanv1.LogKind_LOG_KIND_CALL, Caller: "镇政府办 李主任", Phone: "0771-6201001",
		Matter: "通知明早八点到县里开防汛会", ReceivedAt: timestamppb.New(now.Add(-time.Minute))}
	notice := &yizhanv1.DutyLogEntry{Kind: yizhanv1.LogKind_LOG_KIND_NOTICE, Unit: "县应急管理局", Matter: "暴雨橙色预警"}
	with := func(e *yizhanv1.DutyLogEntry, mod func(*yizhanv1.DutyLogEntry)) *yizhanv1.DutyLogEntry {
		e = proto.CloneOf(e)
		mod(e)
		return e
	}
	for _, tc := range []struct {
		name, field, why string
		e                *yizhanv1.DutyLogEntry
	}{
		{"a call from nobody", "entry.caller", registry.ReasonRequired, with(call, func(e *yizhanv1.DutyLogEntry) { e.Caller = " " })},
		{"a call with no number to call back", "entry.phone", registry.ReasonRequired, with(call, func(e *yizhanv1.DutyLogEntry) { e.Phone = "" })},
		{"a call whose number was shown and withheld", "entry.phone_withheld", registry.ReasonOutOfRange, with(call, func(e *yizhanv1.DutyLogEntry) { e.PhoneWithheld = true })},
		{"a notice from nobody", "entry.caller", registry.ReasonRequired, with(notice, func(e *yizhanv1.DutyLogEntry) { e.Unit = "  " })},
		{"a call received tomorrow", "entry.received_at", registry.ReasonOutOfRange,
			with(call, func(e *yizhanv1.DutyLogEntry) { e.ReceivedAt = timestamppb.New(now.Add(24 * time.Hour)) })},
		{"a call received ten minutes from now", "entry.received_at", registry.ReasonOutOfRange,
			with(call, func(e *yizhanv1.DutyLogEntry) { e.ReceivedAt = timestamppb.New(now.Add(10 * time.Minute)) })},
		{"a call received two days ago", "entry.received_at", registry.ReasonOutOfRange,
			with(call, func(e *yizhanv1.DutyLogEntry) { e.ReceivedAt = timestamppb.New(now.Add(-48 * time.Hour)) })},
		{"a call received at no valid time", "entry.received_at", reason.InvalidFormat,
			with(call, func(e *yizhanv1.DutyLogEntry) { e.ReceivedAt = &timestamppb.Timestamp{Seconds: 1, Nanos: -1} })},
	} {
		fe, ok := CheckLogEntry(tc.e, now).(*FieldError)
		if !ok || fe.Field != tc.field || fe.Why != tc.why {
			t.Errorf("%s: %v, want %s naming %s", tc.name, CheckLogEntry(tc.e, now), tc.why, tc.field)
		}
	}
	for name, e := range map[string]*yizhanv1.DutyLogEntry{
		"a call with its number":                  call,
		"a call whose number was not shown":       with(call, func(e *yizhanv1.DutyLogEntry) { e.Phone, e.PhoneWithheld = "", true }),
		"a call with no time (logged as it came)": with(call, func(e *yizhanv1.DutyLogEntry) { e.ReceivedAt = nil }),
		"a call on a clock three minutes ahead":   with(call, func(e *yizhanv1.DutyLogEntry) { e.ReceivedAt = timestamppb.New(now.Add(3 * time.Minute)) }),
		"a notice from a unit":                    notice,
		"a notice from a caller":                  with(notice, func(e *yizhanv1.DutyLogEntry) { e.Unit, e.Caller = "", "县应急局 王科长" }),
		"a leader's instruction, no caller":       {Kind: yizhanv1.LogKind_LOG_KIND_INSTRUCTION, Matter: "做好防汛值守"},
	} {
		if err := CheckLogEntry(e, now); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
