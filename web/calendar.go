package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// The working-day calendar: a year's holidays and swapped workdays, shown
// as twelve months and edited as a table.

type calDay struct {
	Day   int // 0: padding before the first of the month
	Date  string
	Class string
	Title string
}

type calMonth struct {
	Name  string
	Weeks [][]calDay
}

// holiday is one named holiday of the year: the days off and the
// swapped workdays that go with it.
type holiday struct {
	Name      string
	Off, Work string
}

type calendarData struct {
	Year       int32
	Named      []holiday
	Calendar   *yizhanv1.Calendar
	Months     []calMonth
	Holidays   int
	Workdays   int
	F          formValues
	Prev, Next int32
	// NextMissing: the year after has no holiday data and no calendar
	// set (registry.SourceWeekdays): the admin is asked to set it.
	NextMissing bool
}

func (s *server) calendarPage(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	year := int32(s.now().In(china).Year())
	if y := rq.r.URL.Query().Get("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil {
			return errNotFound
		}
		year = int32(n)
	}
	resp, err := s.cfg.Registry.GetCalendar(rq.ctx(), &yizhanv1.GetCalendarRequest{Year: year})
	if err != nil {
		return err
	}
	return s.showCalendar(rq, http.StatusOK, resp.GetCalendar(), calendarValues(resp.GetCalendar()), formErrors{}, flash(rq), resp.GetMeta())
}

func (s *server) showCalendar(rq *request, code int, cal *yizhanv1.Calendar, f url.Values, errs formErrors, msg string, meta *yizhanv1.ReadMeta) error {
	errs.labels = map[string]string{"days": "节假日表", "days.date": "日期", "days.kind": "类型", "days.name": "名称"}
	d := &calendarData{Year: cal.GetYear(), Calendar: cal, F: formValues{f}, Prev: cal.GetYear() - 1, Next: cal.GetYear() + 1}
	d.Months, d.Holidays, d.Workdays = months(cal)
	d.Named = holidays(cal)
	if next, err := s.cfg.Registry.GetCalendar(rq.ctx(), &yizhanv1.GetCalendarRequest{Year: d.Next}); err == nil {
		d.NextMissing = next.GetCalendar().GetSource() == registry.SourceWeekdays
	}
	return s.render(rq, code, "calendar", &view{Title: fmt.Sprintf("工作日历 %d", cal.GetYear()), Section: "admin", AdminTab: "calendar", Data: d, Errs: errs, Flash: msg, Meta: meta})
}

// calendarValues is a calendar's days as the rows of the edit form.
func calendarValues(cal *yizhanv1.Calendar) url.Values {
	v := url.Values{"year": {strconv.Itoa(int(cal.GetYear()))}, "base": {strconv.FormatUint(cal.GetRegistryIndex(), 10)}}
	for i, d := range cal.GetDays() {
		p := fmt.Sprintf("days[%d].", i)
		v.Set(p+"date", d.GetDate())
		v.Set(p+"kind", strconv.Itoa(int(d.GetKind())))
		v.Set(p+"name", d.GetName())
	}
	v.Set("days_rows", strconv.Itoa(len(cal.GetDays())+3))
	return v
}

var monthNames = []string{"一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月"}

// months lays the year out as twelve month grids, weeks from Monday.
func months(cal *yizhanv1.Calendar) (out []calMonth, holidays, workdays int) {
	special := map[string]*yizhanv1.CalendarDay{}
	for _, d := range cal.GetDays() {
		special[d.GetDate()] = d
		switch d.GetKind() {
		case yizhanv1.DayKind_DAY_KIND_HOLIDAY:
			holidays++
		case yizhanv1.DayKind_DAY_KIND_WORKDAY:
			workdays++
		}
	}
	for m := time.January; m <= time.December; m++ {
		first := time.Date(int(cal.GetYear()), m, 1, 0, 0, 0, 0, time.UTC)
		month := calMonth{Name: monthNames[m-1]}
		week := make([]calDay, (int(first.Weekday())+6)%7)
		for d := first; d.Month() == m; d = d.AddDate(0, 0, 1) {
			day := calDay{Day: d.Day(), Date: d.Format("2006-01-02")}
			if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
				day.Class = "we"
			}
			if sd := special[d.Format("2006-01-02")]; sd != nil {
				day.Title = sd.GetName()
				switch sd.GetKind() {
				case yizhanv1.DayKind_DAY_KIND_HOLIDAY:
					day.Class = "hol"
					day.Title += "（休）"
				case yizhanv1.DayKind_DAY_KIND_WORKDAY:
					day.Class = "swap"
					day.Title += "（调休上班）"
				}
			}
			week = append(week, day)
			if len(week) == 7 {
				month.Weeks = append(month.Weeks, week)
				week = nil
			}
		}
		if len(week) > 0 {
			month.Weeks = append(month.Weeks, week)
		}
		out = append(out, month)
	}
	return out, holidays, workdays
}

func (s *server) calendarPut(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	f := rq.r.PostForm
	y, err := strconv.Atoi(f.Get("year"))
	if err != nil {
		return errNotFound
	}
	year := int32(y)
	cal := &yizhanv1.Calendar{Year: year}
	var rows []int
	n, _ := strconv.Atoi(f.Get("days_rows"))
	for i := range min(max(n, 0), maxRows) {
		p := fmt.Sprintf("days[%d].", i)
		date, name := strings.TrimSpace(f.Get(p+"date")), strings.TrimSpace(f.Get(p+"name"))
		if date == "" && name == "" {
			continue
		}
		kind, _ := strconv.Atoi(f.Get(p + "kind"))
		cal.Days = append(cal.Days, &yizhanv1.CalendarDay{Date: date, Kind: yizhanv1.DayKind(kind), Name: name})
		rows = append(rows, i)
	}
	again := func(code int, errs formErrors) error {
		cur, err := s.cfg.Registry.GetCalendar(rq.ctx(), &yizhanv1.GetCalendarRequest{Year: year})
		if err != nil {
			return err
		}
		return s.showCalendar(rq, code, cur.GetCalendar(), f, errs, "", cur.GetMeta())
	}
	if moreRows(f) {
		return again(http.StatusOK, formErrors{})
	}
	resp, err := s.cfg.Registry.PutCalendar(rq.ctx(), &yizhanv1.PutCalendarRequest{Year: year, Calendar: cal, BaseRegistryIndex: formBase(f)})
	if err != nil {
		if errs, code, ok := unsaved(rq, err); ok {
			if reason.StatusReason(err) == reason.Conflict {
				// Set since the page was read: the grid above shows the
				// calendar as it is now, the table what was typed; sent
				// again, the table replaces the year as it is now.
				if cur, gerr := s.cfg.Registry.GetCalendar(rq.ctx(), &yizhanv1.GetCalendarRequest{Year: year, MinIndex: conflictIndex(err)}); gerr == nil {
					f.Set("base", strconv.FormatUint(cur.GetCalendar().GetRegistryIndex(), 10))
				}
			}
			return again(code, errs)
		}
		errs, ok := fieldErrors(err, "calendar.", func(field string) string {
			m := dayFieldRE.FindStringSubmatch(field)
			if m == nil {
				return ""
			}
			k, _ := strconv.Atoi(m[1])
			if k >= len(rows) {
				return ""
			}
			return fmt.Sprintf("days[%d].%s", rows[k], m[2])
		})
		if !ok {
			return err
		}
		return again(http.StatusBadRequest, errs)
	}
	return s.saved(rq, resp.GetRegistryIndex(), fmt.Sprintf("/admin/calendar?year=%d", year), "calendar")
}

var dayFieldRE = regexp.MustCompile(`^days\[(\d+)\]\.(date|kind|name)$`)

// conflictIndex is the registry index a CONFLICT names the calendar set
// at (its currentVersion), for reading it again from a node that may not
// have it yet (min_index); 0 for any other error.
func conflictIndex(err error) uint64 {
	if reason.StatusReason(err) != reason.Conflict {
		return 0
	}
	v, _ := strconv.ParseUint(reason.Info(status.Convert(err)).GetMetadata()["currentVersion"], 10, 64)
	return v
}

// formBase is the registry index of the calendar the page showed (its
// "base" field), which the write must still find, or nil when the form
// has none (a page of the release before): no check.
func formBase(f url.Values) *uint64 {
	b, err := strconv.ParseUint(f.Get("base"), 10, 64)
	if err != nil {
		return nil
	}
	return &b
}

// holidays groups a calendar's days by name, in the order of the year.
func holidays(cal *yizhanv1.Calendar) []holiday {
	type days struct{ off, work []time.Time }
	var names []string
	by := map[string]*days{}
	for _, d := range cal.GetDays() {
		t, err := time.Parse("2006-01-02", d.GetDate())
		if err != nil {
			continue
		}
		name := d.GetName()
		if name == "" {
			name = "（未命名）"
		}
		g := by[name]
		if g == nil {
			g = &days{}
			by[name] = g
			names = append(names, name)
		}
		if d.GetKind() == yizhanv1.DayKind_DAY_KIND_WORKDAY {
			g.work = append(g.work, t)
		} else {
			g.off = append(g.off, t)
		}
	}
	out := make([]holiday, 0, len(names))
	for _, n := range names {
		out = append(out, holiday{Name: n, Off: dayRanges(by[n].off, true), Work: dayRanges(by[n].work, false)})
	}
	return out
}

// dayRanges writes dates as "10月1日至7日、10月9日". With acrossWeekends,
// days off separated only by a weekend make one range.
func dayRanges(ds []time.Time, acrossWeekends bool) string {
	slices.SortFunc(ds, func(a, b time.Time) int { return a.Compare(b) })
	var parts []string
	for i := 0; i < len(ds); {
		j := i
		for j+1 < len(ds) && follows(ds[j], ds[j+1], acrossWeekends) {
			j++
		}
		from, to := ds[i], ds[j]
		switch {
		case i == j:
			parts = append(parts, fmt.Sprintf("%d月%d日", from.Month(), from.Day()))
		case from.Month() == to.Month():
			parts = append(parts, fmt.Sprintf("%d月%d日至%d日", from.Month(), from.Day(), to.Day()))
		default:
			parts = append(parts, fmt.Sprintf("%d月%d日至%d月%d日", from.Month(), from.Day(), to.Month(), to.Day()))
		}
		i = j + 1
	}
	return strings.Join(parts, "、")
}

// follows reports whether b is the day after a, or (acrossWeekends) comes
// after a with only Saturdays and Sundays between.
func follows(a, b time.Time, acrossWeekends bool) bool {
	for d := a.AddDate(0, 0, 1); d.Before(b); d = d.AddDate(0, 0, 1) {
		if !acrossWeekends || (d.Weekday() != time.Saturday && d.Weekday() != time.Sunday) {
			return false
		}
	}
	return b.After(a)
}

// calendarToggle changes one day with a click on the month grid: a
// weekday becomes a holiday (休) and back, a weekend day a swapped
// workday (班) and back. The name typed beside the grid (国庆节) goes
// with a day made special. The year's calendar is written whole, as the
// table does, and only over the calendar the page showed (base).
func (s *server) calendarToggle(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	f := rq.r.PostForm
	day, err := time.Parse("2006-01-02", f.Get("day"))
	if err != nil {
		return &pageError{status: http.StatusBadRequest, title: "请求有误", msg: "没有这一天。"}
	}
	year := int32(day.Year())
	cur, err := s.cfg.Registry.GetCalendar(rq.ctx(), &yizhanv1.GetCalendarRequest{Year: year})
	if err != nil {
		return err
	}
	date := day.Format("2006-01-02")
	cal := &yizhanv1.Calendar{Year: year}
	found := false
	for _, d := range cur.GetCalendar().GetDays() {
		if d.GetDate() == date {
			found = true // special: back to an ordinary day
			continue
		}
		cal.Days = append(cal.Days, d)
	}
	if !found {
		kind := yizhanv1.DayKind_DAY_KIND_HOLIDAY
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			kind = yizhanv1.DayKind_DAY_KIND_WORKDAY
		}
		cal.Days = append(cal.Days, &yizhanv1.CalendarDay{Date: date, Kind: kind, Name: strings.TrimSpace(f.Get("name"))})
		slices.SortFunc(cal.Days, func(a, b *yizhanv1.CalendarDay) int { return strings.Compare(a.GetDate(), b.GetDate()) })
	}
	// The day is changed in the calendar the page showed, which must still
	// be the year's (base): else the click meant another day than it
	// would make (a day someone made a holiday since would go back), and
	// the year written whole would undo a change made meanwhile.
	base := formBase(f)
	if base == nil {
		base = proto.Uint64(cur.GetCalendar().GetRegistryIndex())
	}
	resp, err := s.cfg.Registry.PutCalendar(rq.ctx(), &yizhanv1.PutCalendarRequest{Year: year, Calendar: cal, BaseRegistryIndex: base})
	if err != nil {
		if errs, code, ok := unsaved(rq, err); ok {
			if now, gerr := s.cfg.Registry.GetCalendar(rq.ctx(), &yizhanv1.GetCalendarRequest{Year: year, MinIndex: conflictIndex(err)}); gerr == nil {
				cur = now // the calendar as it is now, to click again
			}
			return s.showCalendar(rq, code, cur.GetCalendar(), calendarValues(cur.GetCalendar()), errs, "", cur.GetMeta())
		}
		return err
	}
	return s.saved(rq, resp.GetRegistryIndex(), fmt.Sprintf("/admin/calendar?year=%d#m%d", year, int(day.Month())), "calendar")
}
