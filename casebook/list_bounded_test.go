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
		list := func(q ListQuery) ([]string, []int) {
			return walkPages(t, 10, func(token string) ([]*yizhanv1.Case, string, error) {
				q.PageToken = token
				return o.book.List(q)
			})
		}
		got, sizes := list(ListQuery{Office: county, Subtree: subtree, State: yizhanv1.CaseState_CASE_STATE_WITHDRAWN, PageSize: 100})
		// 12 cases read 5 a page: three pages, the withdrawn ones in the
		// first (the newest) and the last (the second filed).
		if want := []string{filed[11], filed[1]}; !slices.Equal(got, want) || !slices.Equal(sizes, []int{1, 0, 1}) {
			t.Errorf("subtree %v: listed %v in pages of %v, want %v in pages of [1 0 1]", subtree, got, sizes, want)
		}
		// Without a filter a page is full: the 12 cases in pages of 4.
		all, sizes := list(ListQuery{Office: county, Subtree: subtree, PageSize: 4})
		if !slices.Equal(sizes, []int{4, 4, 4}) {
			t.Errorf("subtree %v: pages of %v cases, want [4 4 4]", subtree, sizes)
		}
		newest := slices.Clone(filed)
		slices.Reverse(newest)
		if !slices.Equal(all, newest) {
			t.Errorf("subtree %v: listed %v, want %v", subtree, all, newest)
		}
	}
}

// A page of the queue filtered by an item reads at most maxListRead cases:
// with a filter that keeps few it ends short, even empty, with a token
// that goes on from the last case it passed, so that every case the
// filter keeps is listed once over the pages, in the queue's order. A
// page without a filter is full; a state filter leaves cases out without
// reading them.
func TestAPageOfTheQueueReadsABoundedNumberOfCases(t *testing.T) {
	defer func(n int) { maxListRead = n }(maxListRead)
	maxListRead = 5
	o := newOffice(t, county, newRegistry(t))
	var filed, services []string
	for i := range 12 {
		item := licence
		if i == 2 || i == 9 {
			item = service
		}
		n := o.file(item, i, Request{})
		filed = append(filed, n)
		if item == service {
			services = append(services, n)
		}
		o.now = o.now.Add(time.Hour)
	}
	pages := func(q QueueQuery) ([]string, []int) {
		t.Helper()
		return walkPages(t, 10, func(token string) ([]*yizhanv1.Case, string, error) {
			q.PageToken = token
			return o.book.Queue(q)
		})
	}
	// Not accepted: the queue holds them by filing time, oldest first.
	if got, sizes := pages(QueueQuery{Office: county, ItemCode: service, PageSize: 100}); !slices.Equal(got, services) || !slices.Equal(sizes, []int{1, 1, 0}) {
		t.Errorf("by item: listed %v in pages of %v, want %v in pages of [1 1 0]", got, sizes, services)
	}
	if got, sizes := pages(QueueQuery{Office: county, PageSize: 4}); !slices.Equal(got, filed) || !slices.Equal(sizes, []int{4, 4, 4}) {
		t.Errorf("the whole queue: listed %v in pages of %v, want %v in pages of [4 4 4]", got, sizes, filed)
	}
	// The state is in the queue's own entries: the cases it keeps are
	// read (5 a page), those it leaves out are not.
	if got, sizes := pages(QueueQuery{Office: county, State: yizhanv1.CaseState_CASE_STATE_FILED, PageSize: 100}); !slices.Equal(got, filed) || !slices.Equal(sizes, []int{5, 5, 2}) {
		t.Errorf("by state: listed %v in pages of %v, want %v in pages of [5 5 2]", got, sizes, filed)
	}
	if got, sizes := pages(QueueQuery{Office: county, State: yizhanv1.CaseState_CASE_STATE_ACCEPTED, PageSize: 100}); len(got) != 0 || !slices.Equal(sizes, []int{0}) {
		t.Errorf("by a state none is in: listed %v in pages of %v, want one empty page", got, sizes)
	}
	// The entries it leaves out are bounded too (maxQueueSkipped): a page
	// then ends short, and the next goes on.
	defer func(n int) { maxQueueSkipped = n }(maxQueueSkipped)
	maxQueueSkipped = 5
	if got, sizes := pages(QueueQuery{Office: county, State: yizhanv1.CaseState_CASE_STATE_ACCEPTED, PageSize: 100}); len(got) != 0 || !slices.Equal(sizes, []int{0, 0, 0}) {
		t.Errorf("by a state none is in, 5 entries left out a page at most: listed %v in pages of %v, want three empty pages", got, sizes)
	}
	o.act(filed[10], casework.ActionAccept, nil)
	if got, _ := pages(QueueQuery{Office: county, State: yizhanv1.CaseState_CASE_STATE_ACCEPTED, PageSize: 100}); !slices.Equal(got, filed[10:11]) {
		t.Errorf("by the state of one: listed %v, want %v", got, filed[10:11])
	}
}

// A page of an applicant's cases reads at most maxListRead cases, a day
// of the applicant's at a time: with a filter that keeps few of a common
// name's cases it ends short, even empty, with a token that goes on from
// the last case of the days it read, so that every case the filter keeps
// is listed once over the pages, newest first. A day of more cases than
// that is read whole by the page that begins with it. A page read every
// case of the name for a filter that kept none.
func TestAPageOfAnApplicantsCasesReadsABoundedNumberOfCases(t *testing.T) {
	defer func(n int) { maxListRead = n }(maxListRead)
	maxListRead = 5
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	// Three filings a day from 02:00, eight days, then a day of seven:
	// more than a page reads.
	o.now, o.step = t0.Add(-7*time.Hour), 8*time.Hour
	var filed []string // oldest first
	for range 24 {
		filed = append(filed, o.file(licence, 7, Request{}))
	}
	o.now, o.step = o.now.Add(24*time.Hour), time.Minute
	for range 7 {
		filed = append(filed, o.file(licence, 7, Request{}))
	}
	days := 9 // eight of three, one of seven
	for _, n := range []string{filed[2], filed[20], filed[27]} {
		o.act(n, casework.ActionAccept, nil)
	}
	newest := slices.Clone(filed)
	slices.Reverse(newest)
	pages := func(q ApplicantQuery) ([]string, []int) {
		t.Helper()
		return walkPages(t, 100, func(token string) ([]*yizhanv1.Case, string, error) {
			q.PageToken = token
			return o.book.ByApplicant(q, reg)
		})
	}
	// Accepted: three of 31, a day a page (two days of three are more
	// than five cases), the day of seven whole.
	got, sizes := pages(ApplicantQuery{Name: "申请人7", State: yizhanv1.CaseState_CASE_STATE_ACCEPTED, Office: county, PageSize: 100})
	if want := []string{filed[27], filed[20], filed[2]}; !slices.Equal(got, want) {
		t.Errorf("accepted: listed %v, want %v", got, want)
	}
	if len(sizes) != days || !slices.Contains(sizes, 0) {
		t.Errorf("accepted: pages of %v, want %d pages of a day each, some empty with a next one", sizes, days)
	}
	// A state none is in: every page empty, a day each, and the last
	// page says it is the last.
	got, sizes = pages(ApplicantQuery{Name: "申请人7", State: yizhanv1.CaseState_CASE_STATE_WITHDRAWN, PageSize: 100})
	if len(got) != 0 || len(sizes) != days {
		t.Errorf("withdrawn: listed %v in pages of %v, want %d empty pages", got, sizes, days)
	}
	// Without a filter, whatever the page size: each case once, newest
	// first.
	for _, size := range []int{1, 2, 4, 100} {
		if got, _ := pages(ApplicantQuery{Name: "申请人7", IDNumber: idNumber(7), PageSize: size}); !slices.Equal(got, newest) {
			t.Errorf("pages of %d: listed %v, want %v", size, got, newest)
		}
	}
}

// walkPages follows a listing's page tokens from its first page to its
// last, at most limit pages: the numbers of the cases listed, and the
// size of each page.
func walkPages(t *testing.T, limit int, page func(token string) ([]*yizhanv1.Case, string, error)) (got []string, sizes []int) {
	t.Helper()
	token := ""
	for range limit {
		cases, next, err := page(token)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(cases))
		for _, c := range cases {
			got = append(got, c.GetNumber())
		}
		if next == "" {
			return got, sizes
		}
		token = next
	}
	t.Fatalf("more than %d pages: %v", limit, got)
	return nil, nil
}
