package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// calendarRegistry holds one year's calendar and writes it as the
// registry does: over the calendar it was read at, when the write says
// (base_registry_index), else CONFLICT.
type calendarRegistry struct {
	*fakeRegistry
	mu       sync.Mutex
	cal      *yizhanv1.Calendar
	minIndex uint64 // the highest min_index a read asked for
}

func (z *calendarRegistry) GetCalendar(_ context.Context, req *yizhanv1.GetCalendarRequest) (*yizhanv1.GetCalendarResponse, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.minIndex = max(z.minIndex, req.GetMinIndex())
	return &yizhanv1.GetCalendarResponse{Calendar: proto.CloneOf(z.cal)}, nil
}

func (z *calendarRegistry) PutCalendar(_ context.Context, req *yizhanv1.PutCalendarRequest) (*yizhanv1.PutCalendarResponse, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if req.BaseRegistryIndex != nil && req.GetBaseRegistryIndex() != z.cal.GetRegistryIndex() {
		return nil, reason.Status(reason.Conflict, "calendar set since", reason.Meta{"kind": "calendar", "code": "2099",
			"baseVersion": reason.Itoa(req.GetBaseRegistryIndex()), "currentVersion": reason.Itoa(z.cal.GetRegistryIndex())}, 0).Err()
	}
	z.set(req.GetCalendar().GetDays()...)
	return &yizhanv1.PutCalendarResponse{Calendar: proto.CloneOf(z.cal), RegistryIndex: z.cal.GetRegistryIndex()}, nil
}

// set writes the year (another admin's write, or one of the page's).
// Caller holds z.mu.
func (z *calendarRegistry) set(days ...*yizhanv1.CalendarDay) {
	z.cal = &yizhanv1.Calendar{Year: 2099, Days: days, Source: "registry", RegistryIndex: z.cal.GetRegistryIndex() + 10}
}

// The calendar page was opened; another admin then made 6月1日 a holiday.
// A click on 5月4日 in the page's grid, or its table saved, would write
// the whole year without 6月1日: each is refused, saying the calendar was
// changed by someone else, and the page shows the year as it is now; the
// table sent again, once checked, is saved.
func TestACalendarPageOpenedBeforeAnotherAdminsChangeDoesNotUndoIt(t *testing.T) {
	reg := &calendarRegistry{cal: &yizhanv1.Calendar{Year: 2099, Source: "weekdays"}}
	f := newFixture(t, func(c *Config) { reg.fakeRegistry = c.Registry.(*fakeRegistry); c.Registry = reg })
	_, page := f.do(t, "GET", "/admin/calendar?year=2099", nil, session(adminToken))
	if n := strings.Count(page, `name="base" value="0"`); n != 2 {
		t.Fatalf("the page's two forms carry the calendar's index %d times, want 2:\n%s", n, page)
	}
	token := csrfOf(t, page)
	reg.mu.Lock()
	reg.set(&yizhanv1.CalendarDay{Date: "2099-06-01", Kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, Name: "儿童节"})
	reg.mu.Unlock()
	kept := func(what string) {
		t.Helper()
		reg.mu.Lock()
		defer reg.mu.Unlock()
		if d := reg.cal.GetDays(); len(d) != 1 || d[0].GetDate() != "2099-06-01" {
			t.Errorf("%s undid the other admin's change: %v", what, d)
		}
	}

	resp, page := f.do(t, "POST", "/admin/calendar/toggle", url.Values{"csrf": {token}, "day": {"2099-05-04"}, "name": {"青年节"}, "base": {"0"}}, session(adminToken))
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "2099 年的工作日历已被他人修改") {
		t.Errorf("a click on the grid of a page read before: status %d\n%s", resp.StatusCode, page)
	}
	if !strings.Contains(page, `aria-label="2099-06-01 儿童节`) {
		t.Error("the refused click's page does not show the calendar as it is now (儿童节)")
	}
	kept("a click on the grid")
	if reg.minIndex != 10 {
		t.Errorf("the refused click read the calendar again at min_index %d, want 10 (the index the conflict names: a node behind would show the old one)", reg.minIndex)
	}

	table := url.Values{"csrf": {token}, "year": {"2099"}, "base": {"0"}, "days_rows": {"1"}, "save": {"1"},
		"days[0].date": {"2099-05-04"}, "days[0].kind": {"1"}, "days[0].name": {"青年节"}}
	resp, page = f.do(t, "POST", "/admin/calendar", table, session(adminToken))
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "2099 年的工作日历已被他人修改") {
		t.Errorf("the table of a page read before: status %d\n%s", resp.StatusCode, page)
	}
	kept("the table saved")
	if !strings.Contains(page, `name="base" value="10"`) || !strings.Contains(page, `value="青年节"`) {
		t.Fatalf("the refused table's page keeps what was typed over the calendar as it is now (base 10):\n%s", page)
	}
	table.Set("base", "10")
	if resp, page = f.do(t, "POST", "/admin/calendar", table, session(adminToken)); resp.StatusCode >= 400 {
		t.Fatalf("the table sent again, checked: status %d\n%s", resp.StatusCode, page)
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if d := reg.cal.GetDays(); len(d) != 1 || d[0].GetDate() != "2099-05-04" {
		t.Errorf("the table sent again did not replace the year: %v", d)
	}
}
