package registry

import (
	"strconv"
	"testing"
	"time"
)

func BenchmarkRights(b *testing.B) {
	r := fullCounty(b, Options{})
	for b.Loop() {
		r.Rights("YC", village, t0)
	}
}

func BenchmarkAddWorkingDays20(b *testing.B) {
	r := New(Options{})
	from := time.Date(2025, 9, 22, 10, 0, 0, 0, CST)
	for b.Loop() {
		r.AddWorkingDays(from, 20)
	}
}

func BenchmarkApplyCreateItem(b *testing.B) {
	r := newCounty(b)
	it := validItem("")
	i := 0
	for b.Loop() {
		i++
		it.Code = "B" + strconv.Itoa(i)
		if _, err := r.Apply(r.Index()+1, createItem(it)); err != nil {
			b.Fatal(err)
		}
	}
}
