package supervision

import (
	"maps"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The counters of the county's records read back from figures are the
// ones the figures were computed from, and no other: a node below the
// county adds them to its own counters, which never hold them.
func TestCountyRecordCountersAreComputesInverse(t *testing.T) {
	c := Counters{
		Received: 7, Accepted: 5, Complained: 2, RatedOutcome(yizhanv1.Rating_RATING_DISSATISFIED): 1,
		FollowUpsOpened: 3, FollowUpsReplied: 2, FollowUpsRepliedInTime: 1, OrdersIssued: 4,
		CardOutcome(yizhanv1.CardRule_CARD_RULE_ORDER_LATE): 2, CardOutcome(yizhanv1.CardRule_CARD_RULE_FOLLOW_UP_LATE): 1,
		CardOutcome(yizhanv1.CardRule_CARD_RULE_OVERDUE): 5, CardOutcome(yizhanv1.CardRule_CARD_RULE_DUE_SOON): 6,
	}
	want := Counters{}
	for k, v := range c {
		if IsCountyRecord(k) {
			want[k] = v
		}
	}
	if len(want) != 6 {
		t.Fatalf("the county's record outcomes among %v: %v, want the 4 of follow-ups and orders and 2 of cards", c, want)
	}
	if got := CountyRecordCounters(Compute(c, nil)); !maps.Equal(got, want) {
		t.Errorf("CountyRecordCounters(Compute(c)) = %v, want %v", got, want)
	}
	if got := CountyRecordCounters(Compute(Counters{Received: 1}, nil)); len(got) != 0 {
		t.Errorf("figures without records: %v", got)
	}
}
