package duty

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The night shift, taken over before the day shift handed over (both may
// act in the half hour before the change), takes on the open matters with
// that handover: its next version records the day shift and the matters,
// nothing else; a second time, or with anything else changed, is refused.
func TestOpenMattersHandedOnToTheShiftOn(t *testing.T) {
	start := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	const office = "450122101203"
	night := &yizhanv1.DutyShift{Id: ShiftID(office, start), OfficeCode: office, Start: timestamppb.New(start), End: timestamppb.New(start.Add(12 * time.Hour)),
		Leader: "leader", Officers: []string{"night"}, State: yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY, TakenOverBy: "night",
		TakenOverAt: timestamppb.New(start.Add(-15 * time.Minute)), Version: 2}
	day := ShiftID(office, start.Add(-12*time.Hour))
	next := func(held *yizhanv1.DutyShift, mod func(*yizhanv1.DutyShift)) *yizhanv1.DutyShift {
		n := proto.CloneOf(held)
		n.Version++
		mod(n)
		return n
	}
	on := next(night, func(n *yizhanv1.DutyShift) { n.TakenOverFrom, n.MattersTakenOver = day, "镇里通知明早开会" })
	if c, err := ChangeOf(on, night, start.Add(-10*time.Minute)); err != nil || c != ShiftMattersHandedOn {
		t.Errorf("the matters handed on to the shift on: %v %v", c, err)
	}
	nothing := next(night, func(n *yizhanv1.DutyShift) { n.TakenOverFrom = day })
	if c, err := ChangeOf(nothing, night, start); err != nil || c != ShiftMattersHandedOn {
		t.Errorf("a handover with no open matters, to the shift on: %v %v", c, err)
	}
	for name, n := range map[string]*yizhanv1.DutyShift{
		"again, from another shift": next(on, func(n *yizhanv1.DutyShift) { n.TakenOverFrom = ShiftID(office, start.Add(-24*time.Hour)) }),
		"with who took it over changed": next(night, func(n *yizhanv1.DutyShift) {
			n.TakenOverFrom, n.MattersTakenOver, n.TakenOverBy = day, "镇里通知明早开会", "leader"
		}),
		"from no shift": next(night, func(n *yizhanv1.DutyShift) {
			n.TakenOverFrom, n.MattersTakenOver = "昨天", "镇里通知明早开会"
		}),
	} {
		held := night
		if name == "again, from another shift" {
			held = on
		}
		if c, err := ChangeOf(n, held, start); err == nil {
			t.Errorf("%s: taken as %v", name, c)
		}
	}
}
