package casebook

import (
	"slices"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// A page of an office's history reads at most maxListRead cases: with a
// filter that keeps few of them it ends short, even empty, with a token
// that goes on from the last case it read, so that every case the filter
// keeps is listed once over the pages, newest first, whether the office
// alone is listed or with the offices below.
func TestAPageOfTheHistoryReadsABoundedNumberOfCases(t *testing.T) {
	defer func(n int) { maxListRead = n }(maxListRead)
	maxListRead = 5
	o := newOffice(t, county, newRegistry(t))
	var filed []string
	for i := range 12 {
		filed = append(filed, o.file(licence, i, Request{}))
		o.now = o.now.Add(time.Hour)
	}
	for _, n := range []string{filed[1], filed[11]} {
		o.actAs(citizen, n, casework.ActionWithdraw, &yizhanv1.CaseActionRequest{Reason: "不办了"})
	}
	for _, subtree := range []bool{false, true} {
		var got []string
		var sizes []int
		token := ""
		for range 10 {
			cases, next, err := o.book.List(ListQuery{Office: county, Subtree: subtree, State: yizhanv1.CaseState_CASE_STATE_WITHDRAWN, PageSize: 100, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(cases))
			for _, c := range cases {
				got = append(got, c.GetNumber())
			}
			if next == "" {
				break
			}
			token = next
		}
		// 12 cases read 5 a page: three pages, the withdrawn ones in the
		// first (the newest) and the last (the second filed).
		if want := []string{filed[11], filed[1]}; !slices.Equal(got, want) || !slices.Equal(sizes, []int{1, 0, 1}) {
			t.Errorf("subtree %v: listed %v in pages of %v, want %v in pages of [1 0 1]", subtree, got, sizes, want)
		}
		// Without a filter a page is full: the 12 cases in pages of 4.
		var all []string
		token = ""
		for range 10 {
			cases, next, err := o.book.List(ListQuery{Office: county, Subtree: subtree, PageSize: 4, PageToken: token})
			if err != nil || len(cases) != 4 {
				t.Fatalf("subtree %v: a page of %d cases, %v", subtree, len(cases), err)
			}
			for _, c := range cases {
				all = append(all, c.GetNumber())
			}
			if next == "" {
				break
			}
			token = next
		}
		newest := slices.Clone(filed)
		slices.Reverse(newest)
		if !slices.Equal(all, newest) {
			t.Errorf("subtree %v: listed %v, want %v", subtree, all, newest)
		}
	}
}
