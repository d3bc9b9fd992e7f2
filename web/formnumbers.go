package web

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// formReader reads whole numbers and times from a submitted form. A field
// that holds something else (a fraction, "1e3", a number past what the
// API takes, a time not as the page's input gives it) is noted in errs
// under its form name, so that the form is shown again naming it: never
// sent with 0 or nothing in its place, which the API would take for
// "none" or, wrapped, for another number.
type formReader struct {
	f    url.Values
	errs formErrors
}

// int32 is the whole number in field name, 0 when it is empty.
func (r *formReader) int32(name string) int32 {
	v := strings.TrimSpace(r.f.Get(name))
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		r.errs.add(name, "请填写整数")
		return 0
	}
	return int32(n)
}

// time is the China Standard Time in field name as a datetime-local
// input gives it (to the minute, or the second); nil when it is empty.
func (r *formReader) time(name string) *timestamppb.Timestamp {
	v := strings.TrimSpace(r.f.Get(name))
	if v == "" {
		return nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, china); err == nil {
			return timestamppb.New(t)
		}
	}
	r.errs.add(name, "请按“年-月-日 时:分”填写（如 2026-12-01 09:30）")
	return nil
}
