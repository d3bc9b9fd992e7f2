package node_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// Two admins edit one year's calendar, each from the calendar as read: the
// second write, made from a read older than the first, would write the
// whole year without the first's day. With the registry index it read
// (base_registry_index), it is refused CONFLICT and changes nothing; from
// a fresh read it goes through; without a base (a client of the release
// before) the year is written as asked.
func TestACalendarWrittenFromAnOlderReadIsRefused(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.countyLeader()).login("admin", password)
	day := func(date, name string) *yizhanv1.CalendarDay {
		return &yizhanv1.CalendarDay{Date: date, Kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, Name: name}
	}
	read := func() *yizhanv1.Calendar {
		t.Helper()
		c, err := admin.reg.GetCalendar(admin.ctx(), &yizhanv1.GetCalendarRequest{Year: 2099})
		if err != nil {
			t.Fatal(err)
		}
		return c.GetCalendar()
	}
	put := func(base *uint64, days ...*yizhanv1.CalendarDay) error {
		_, err := admin.reg.PutCalendar(admin.ctx(), &yizhanv1.PutCalendarRequest{Year: 2099,
			Calendar: &yizhanv1.Calendar{Year: 2099, Days: days}, BaseRegistryIndex: base})
		return err
	}

	first, second := read(), read() // both admins open the page
	if first.GetRegistryIndex() != 0 {
		t.Fatalf("setup: 2099 already set at %d", first.GetRegistryIndex())
	}
	if err := put(proto.Uint64(first.GetRegistryIndex()), day("2099-05-04", "青年节")); err != nil {
		t.Fatalf("the first admin's write: %v", err)
	}
	set := read()
	err := put(proto.Uint64(second.GetRegistryIndex()), day("2099-06-01", "儿童节"))
	if status.Code(err) != codes.Aborted || reason.StatusReason(err) != reason.Conflict {
		t.Fatalf("the second admin's write from the older read: %v, want CONFLICT", err)
	}
	if now := read(); !proto.Equal(now, set) {
		t.Errorf("the refused write changed the calendar:\n%v\nwas\n%v", now, set)
	}
	if err := put(proto.Uint64(set.GetRegistryIndex()), day("2099-05-04", "青年节"), day("2099-06-01", "儿童节")); err != nil {
		t.Fatalf("the second admin's write from a fresh read: %v", err)
	}
	if got := len(read().GetDays()); got != 2 {
		t.Errorf("the year holds %d days, want both admins' 2", got)
	}
	if err := put(nil, day("2099-10-01", "国庆节")); err != nil {
		t.Fatalf("a write with no base: %v", err)
	}
	if got := read().GetDays(); len(got) != 1 || got[0].GetDate() != "2099-10-01" {
		t.Errorf("a write with no base replaces the year: %v", got)
	}
}
