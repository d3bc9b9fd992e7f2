package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// onDutyRoster is a roster at the county with a shift on now, zhiban (the
// belowDutyAuth officer) on it, and tomorrow's shift planned; it keeps
// the log entries and swaps it is sent, or refuses them with refuse.
type onDutyRoster struct {
	yizhanv1.UnimplementedDutyRosterServiceServer
	logged []*yizhanv1.DutyLogEntry
	swaps  []*yizhanv1.SwapShiftRequest
	refuse error
}

func (r *onDutyRoster) shifts() []*yizhanv1.DutyShift {
	start := now.Add(-2 * time.Hour)
	return []*yizhanv1.DutyShift{
		{Id: "BC-" + county + "-202611270800", OfficeCode: county, Start: timestamppb.New(start), End: timestamppb.New(start.Add(12 * time.Hour)),
			Leader: "daiban", LeaderName: "覃带班", Officers: []string{"zhiban"}, OfficerNames: []string{"韦值班"}, State: yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY},
		{Id: "BC-" + county + "-202611280800", OfficeCode: county, Start: timestamppb.New(start.Add(24 * time.Hour)), End: timestamppb.New(start.Add(36 * time.Hour)),
			Leader: "daiban", LeaderName: "覃带班", Officers: []string{"zhiban"}, OfficerNames: []string{"韦值班"}, State: yizhanv1.ShiftState_SHIFT_STATE_PLANNED},
	}
}

func (r *onDutyRoster) GetOnDuty(context.Context, *yizhanv1.GetOnDutyRequest) (*yizhanv1.GetOnDutyResponse, error) {
	return &yizhanv1.GetOnDutyResponse{Offices: []*yizhanv1.OfficeOnDuty{{OfficeCode: county, Shift: r.shifts()[0]}}}, nil
}

func (r *onDutyRoster) ListShifts(context.Context, *yizhanv1.ListShiftsRequest) (*yizhanv1.ListShiftsResponse, error) {
	return &yizhanv1.ListShiftsResponse{Shifts: r.shifts()}, nil
}

func (r *onDutyRoster) ListLog(context.Context, *yizhanv1.ListLogRequest) (*yizhanv1.ListLogResponse, error) {
	return &yizhanv1.ListLogResponse{Entries: r.logged}, nil
}

func (r *onDutyRoster) WriteLogEntry(_ context.Context, req *yizhanv1.WriteLogEntryRequest) (*yizhanv1.DutyLogEntry, error) {
	if r.refuse != nil {
		return nil, r.refuse
	}
	r.logged = append(r.logged, req.GetEntry())
	return req.GetEntry(), nil
}

func (r *onDutyRoster) SwapShift(_ context.Context, req *yizhanv1.SwapShiftRequest) (*yizhanv1.DutyShift, error) {
	if r.refuse != nil {
		return nil, r.refuse
	}
	r.swaps = append(r.swaps, req)
	return r.shifts()[1], nil
}

// The duty log's form asks when the call came (来电时间) and lets the
// officer say the caller's number was not shown (未显示号码): both reach
// the log, and a refusal of the phone is shown by the phone. The 调班
// form's reason is required (调班理由 *).
func TestTheLogFormTakesTheCallsTimeAndAWithheldNumber(t *testing.T) {
	ro := &onDutyRoster{}
	f := newFixture(t, func(cfg *Config) {
		cfg.Auth = belowDutyAuth{cfg.Auth.(*fakeAuth)}
		cfg.Duty = belowDuty{}
		cfg.DutyRoster = ro
	})
	officer := session(belowDutyToken)
	resp, page := f.do(t, "GET", "/duty", nil, officer)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the duty page: %s", resp.Status)
	}
	form := section(t, page, `action="/duty/log`)
	for _, want := range []string{`name="received_at" value="" type="datetime-local"`, `type="checkbox" id="f-phone_withheld" name="phone_withheld" value="1"`, "未显示号码", "来电时间"} {
		if !strings.Contains(form, want) {
			t.Errorf("the log form has no %s:\n%s", want, form)
		}
	}
	post := url.Values{"csrf": {csrfOf(t, page)}, "kind": {"1"}, "caller": {"自称县水利局 张工"}, "phone_withheld": {"1"},
		"received_at": {"2026-11-27T09:55"}, "matter": {"询问水库水位"}}
	if resp, body := f.do(t, "POST", "/duty/log", post, officer); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the call logged: %s\n%.500s", resp.Status, body)
	}
	if len(ro.logged) != 1 || !ro.logged[0].GetPhoneWithheld() || !ro.logged[0].GetReceivedAt().AsTime().Equal(now.Add(-5*time.Minute)) {
		t.Fatalf("the log got %v, want the call at 09:55, its number not shown", ro.logged)
	}
	if _, page := f.do(t, "GET", "/duty", nil, officer); !strings.Contains(section(t, page, `id="log"`), "未显示号码") {
		t.Errorf("the log does not say the caller's number was not shown:\n%s", section(t, page, `id="log"`))
	}

	ro.refuse = reason.BadRequest(reason.Violation{Field: "entry.phone", Reason: registry.ReasonRequired, Description: "a call names the number to call back"}).Err()
	delete(post, "phone_withheld")
	resp, body := f.do(t, "POST", "/duty/log", post, officer)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="f-phone" name="phone" value="" type="tel" aria-invalid="true"`) {
		t.Errorf("a call with no number, refused: %s; the phone is not marked:\n%.3000s", resp.Status, section(t, body, `action="/duty/log`))
	}

	ro.refuse = nil
	_, page = f.do(t, "GET", "/duty", nil, session(adminToken))
	swap := section(t, page, `action="/duty/shifts/BC-`+county+`-202611280800/swap`)
	if !strings.Contains(swap, `调班理由 <b class="req" title="必填">*</b>`) || !strings.Contains(swap, `name="reason" required`) {
		t.Errorf("the swap form's reason is not required:\n%s", swap)
	}
}
