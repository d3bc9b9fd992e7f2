package casebook

import (
	"slices"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/supervision"
)

// A case proxy-filed at a village, decided at the county, delivered at
// the village and rated 不满意 there: the rating judges the handling, so
// it counts in the county's 评价 and 满意率, where its 差评 follow-up is
// assigned, not in the village's, which only delivered.
func TestABadRatingCountsAtTheOfficeThatDecided(t *testing.T) {
	reg := newRegistry(t)
	c, tw, v := newOffice(t, county, reg), newOffice(t, township, reg), newOffice(t, village, reg)
	tw.index, v.index = 500, 1000
	offices := map[string]*office{county: c, township: tw, village: v}
	for _, o := range offices {
		o.now = day(3, 2, 9)
	}
	n := v.fileAs(villageAgent, service, 100, Request{})
	settle(t, offices)
	c.act(n, casework.ActionAccept, nil)
	c.act(n, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	c.act(n, casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"})
	c.act(n, casework.ActionCertify, &yizhanv1.CaseActionRequest{CertificateNumber: "Z-1"})
	settle(t, offices)
	v.actAs(villageAgent, n, casework.ActionDeliver, nil)
	settle(t, offices)
	v.actAs(citizen, n, casework.ActionRate, &yizhanv1.CaseActionRequest{Rating: yizhanv1.Rating_RATING_DISSATISFIED, Reason: "审批太慢"})
	settle(t, offices)
	rated := supervision.RatedOutcome(yizhanv1.Rating_RATING_DISSATISFIED)
	// In every book that holds the case, by office.
	for code, o := range offices {
		g, err := o.book.SumStats(RangeQuery{From: day(3, 1, 0), To: day(3, 31, 0), Office: code, Subtree: true}, func(s Stat) string { return s.Office })
		if err != nil {
			t.Fatal(err)
		}
		var ratedAt []string
		for office, cs := range g {
			if cs[rated] > 0 {
				ratedAt = append(ratedAt, office)
			}
		}
		want := []string{}
		if code == county {
			want = []string{county}
		}
		if !slices.Equal(ratedAt, want) && !(len(ratedAt) == 0 && len(want) == 0) {
			t.Errorf("the book of %s counts the 不满意 at %v, want %v (the county decided)", code, ratedAt, want)
		}
	}
	fus, err := c.book.FollowUps(RecordQuery{})
	if err != nil || len(fus) != 1 || fus[0].GetOfficeCode() != county {
		t.Errorf("the 差评 follow-up: %v %v, want one assigned to the county", fus, err)
	}
	for _, o := range offices {
		o.check() // the counters equal a recount of the events
	}
}
