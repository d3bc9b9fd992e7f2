package casebook

import (
	"testing"
	"time"
)

// BenchmarkApplicantByCommonName is a staff search by a common name (张伟
// at a county: some thousands of cases over the years) for its first page
// and for the fifth, in a book of 3,000 cases of that name among 3,000 of
// others, filed over four years.
func BenchmarkApplicantByCommonName(b *testing.B) {
	o := newOffice(b, county, newRegistry(b))
	o.step = 6 * time.Hour
	for i := range 3000 {
		o.file(licence, 7, Request{})
		o.file(licence, 100+i%900, Request{})
	}
	o.book.writeMu.Lock()
	o.book.settle()
	o.book.writeMu.Unlock()
	q := ApplicantQuery{Name: "申请人7", PageSize: 20}
	page := func(n int) {
		q := q
		for range n {
			got, next, err := o.book.ByApplicant(q, o.reg)
			if err != nil || len(got) != 20 {
				b.Fatalf("%d cases, %v", len(got), err)
			}
			q.PageToken = next
		}
	}
	b.Run("first page", func(b *testing.B) {
		for b.Loop() {
			page(1)
		}
	})
	b.Run("five pages", func(b *testing.B) {
		for b.Loop() {
			page(5)
		}
	})
}
