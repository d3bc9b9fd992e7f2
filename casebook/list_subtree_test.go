package casebook

import (
	"slices"
	"testing"
)

// The cases of an office with the offices below it, as the county's
// book holds them: three proxy-filed at a village (in the village's,
// the township's and the county's lists once carried up) and one filed
// at the county, each listed once, newest first, page by page; the
// township's take in its village's and not the county's own.
func TestListSubtreeListsEachCaseOnce(t *testing.T) {
	reg := newRegistry(t)
	c, tw, v := newOffice(t, county, reg), newOffice(t, township, reg), newOffice(t, village, reg)
	tw.index, v.index = 500, 1000
	offices := map[string]*office{county: c, township: tw, village: v}
	var fromVillage []string
	for i := range 3 {
		for _, o := range offices {
			o.now = day(3, 2+i, 9)
		}
		fromVillage = append(fromVillage, v.fileAs(villageAgent, service, 100+i, Request{}))
	}
	for _, o := range offices {
		o.now = day(3, 6, 9)
	}
	own := c.file(service, 1, Request{})
	settle(t, offices)

	list := func(o *office, office string, size int) []string {
		t.Helper()
		var out []string
		token := ""
		for range 10 {
			cases, next, err := o.book.List(ListQuery{Office: office, Subtree: true, FiledFrom: day(3, 1, 0), FiledTo: day(4, 1, 0), PageSize: size, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range cases {
				out = append(out, x.GetNumber())
			}
			if next == "" {
				return out
			}
			token = next
		}
		t.Fatalf("more than 10 pages: %v", out)
		return nil
	}
	want := []string{own, fromVillage[2], fromVillage[1], fromVillage[0]}
	for _, size := range []int{1, 2, 1000} {
		if got := list(c, county, size); !slices.Equal(got, want) {
			t.Errorf("the county with every office below, pages of %d: %v, want %v", size, got, want)
		}
	}
	wantTownship := []string{fromVillage[2], fromVillage[1], fromVillage[0]}
	if got := list(c, township, 2); !slices.Equal(got, wantTownship) {
		t.Errorf("the township with its villages, in the county's book: %v, want %v", got, wantTownship)
	}
	if got := list(tw, township, 1); !slices.Equal(got, wantTownship) {
		t.Errorf("the township with its villages, in its own book: %v, want %v", got, wantTownship)
	}
	// Filed from 3 March: the first day's case is left out.
	cases, _, err := c.book.List(ListQuery{Office: county, Subtree: true, FiledFrom: day(3, 3, 0), PageSize: 100})
	if err != nil || len(cases) != 3 {
		t.Errorf("filed from 3 March: %d cases, %v; want 3", len(cases), err)
	}
}
