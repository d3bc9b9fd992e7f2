package raftgroup

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

func TestRequestLogAppliesOncePerRequestID(t *testing.T) {
	l := newRequestLog()
	req := &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "mz", Name: "民政局"}, RequestId: "r-1"}
	r, err := NewRequest("r-1", "CreateDepartment", req)
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	apply := func() (proto.Message, error) {
		applied++
		return &yizhanv1.Department{Code: "mz", Name: "民政局"}, nil
	}
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).UnixNano()
	v, idx, err := l.once(r, 10, t0, apply)
	if err != nil || idx != 10 || applied != 1 {
		t.Fatalf("first: %v %d %v, applied %d", v, idx, err, applied)
	}
	// The same request again, later in the log: the first answer, not applied.
	v2, idx2, err := l.once(r, 12, t0+int64(time.Hour), apply)
	if err != nil || idx2 != 10 || applied != 1 || !proto.Equal(v, v2) {
		t.Fatalf("retry: %v %d %v, applied %d", v2, idx2, err, applied)
	}
	// The same ID with another body.
	other, _ := NewRequest("r-1", "CreateDepartment", &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "sw"}})
	if _, _, err := l.once(other, 13, t0+int64(time.Hour), apply); !errors.Is(err, ErrRequestConflict) || applied != 1 {
		t.Fatalf("another body under the same ID: %v, applied %d", err, applied)
	}
	// The ID in the field does not change the hash: the body does.
	again, _ := NewRequest("r-1", "CreateDepartment", &yizhanv1.CreateDepartmentRequest{Department: req.GetDepartment()})
	if string(again.Hash) != string(r.Hash) {
		t.Error("the request_id field changed the request's hash")
	}
	// A failed write is not remembered.
	failing := Request{ID: "r-2", Hash: []byte{1}}
	if _, _, err := l.once(failing, 14, t0, func() (proto.Message, error) { return nil, errors.New("no") }); err == nil {
		t.Fatal("the failure was lost")
	}
	if _, _, ok, _ := l.answered(failing); ok {
		t.Error("a failed write was remembered")
	}
	// Snapshot and restore keep it.
	nl := newRequestLog()
	nl.restore(l.snapshot())
	if v3, idx3, ok, err := nl.answered(r); !ok || err != nil || idx3 != 10 || !proto.Equal(v, v3) {
		t.Fatalf("after restore: %v %d %v %v", v3, idx3, ok, err)
	}
	// A day later, by the log's time, it is forgotten: applied anew.
	if _, _, err := l.once(r, 20, t0+int64(RequestMemory)+1, apply); err != nil || applied != 2 {
		t.Fatalf("after a day: %v, applied %d", err, applied)
	}
}

func TestRequestLogIsBounded(t *testing.T) {
	l := newRequestLog()
	for i := range maxRequests + 10 {
		r := Request{ID: fmt.Sprint(i), Hash: []byte{1}}
		if _, _, err := l.once(r, uint64(i), 1, func() (proto.Message, error) { return nil, nil }); err != nil {
			t.Fatal(err)
		}
	}
	l.expire(1)
	if n := len(l.order); n != maxRequests {
		t.Fatalf("%d remembered, want %d", n, maxRequests)
	}
	if _, _, ok, _ := l.answered(Request{ID: "0", Hash: []byte{1}}); ok {
		t.Error("the oldest was kept past the bound")
	}
}

func TestRequestIDsAreChecked(t *testing.T) {
	for _, id := range []string{"with space", "中文", string(make([]byte, MaxRequestIDLen+1))} {
		var bad *RequestIDError
		if _, err := NewRequest(id, "m", &yizhanv1.CreateDepartmentRequest{}); !errors.As(err, &bad) {
			t.Errorf("request ID %q: %v, want a RequestIDError", id, err)
		}
	}
}
