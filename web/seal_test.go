package web

import (
	"testing"
	"time"
)

func TestSealedPageIDs(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	f := newFixture(t, func(c *Config) { c.CSRFKey = func() ([]byte, bool) { return key, true } })
	s := f.h.(*server)
	ref := pageRef{Number: "450122000000-20261127-0001", Code: "ABCD-EFGH-JKLM", Owner: "browser-1", Expires: now.Add(time.Minute).Unix()}
	id := s.pageID("mem", ref)
	if mem, got := s.openPageID(id, "browser-1", now); mem != "mem" || got == nil || *got != ref {
		t.Fatalf("opened %q %v, want mem and %v", mem, got, ref)
	}
	if _, got := s.openPageID(id, "browser-2", now); got != nil {
		t.Error("another browser opened the page")
	}
	if _, got := s.openPageID(id, "browser-1", now.Add(2*time.Minute)); got != nil {
		t.Error("an expired page opened")
	}
	if _, got := s.openPageID(id[:len(id)-2]+"AA", "browser-1", now); got != nil {
		t.Error("a tampered id opened")
	}
	other := newFixture(t, func(c *Config) {
		c.CSRFKey = func() ([]byte, bool) { return []byte("another office's key, 32 bytes!!"), true }
	})
	if _, got := other.h.(*server).openPageID(id, "browser-1", now); got != nil {
		t.Error("another office opened the page")
	}
}
