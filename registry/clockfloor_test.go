package registry

import (
	"testing"
	"time"
)

// The clock floor (NewestCommandTime) is "the county's clock has reached
// at least this time". A registry snapshot without a changelog (what a
// restored county sends every office below: RestoreBackup clears it)
// does not take it back: a village PC whose clock reads years behind is
// still refused after the install. A snapshot carries it, so a node
// restarted from its own keeps it too.
func TestNewestCommandTimeSurvivesASnapshotWithoutChangelog(t *testing.T) {
	r := newCounty(t)
	held := r.NewestCommandTime()
	if held.IsZero() {
		t.Fatal("setup: no newest command time")
	}
	snap := r.Snapshot()
	snap.Changelog = nil // as RestoreBackup writes a county's
	snap.Index += 100_000_000
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if got := r.NewestCommandTime(); got.Before(held) {
		t.Errorf("after installing a registry snapshot without changelog, NewestCommandTime = %v, was %v: the clock floor went back (a clock in 2001 now passes ClockOff)",
			got, held.Format(time.RFC3339))
	}
}

func TestNewestCommandTimeTravelsInASnapshot(t *testing.T) {
	r := newCounty(t)
	held := r.NewestCommandTime()
	snap := r.Snapshot()
	snap.Changelog = nil
	fresh := New(Options{})
	if err := fresh.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if got := fresh.NewestCommandTime(); !got.Equal(held) {
		t.Errorf("a registry restored from a snapshot without changelog: NewestCommandTime = %v, want %v", got, held)
	}
	if _, a := r.Digest(); a == "" {
		t.Fatal("no digest")
	}
	snap.NewestCommandAtUnixNano++
	other := New(Options{})
	if err := other.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if _, a := fresh.Digest(); func() string { _, b := other.Digest(); return b }() != a {
		t.Error("two registries differing only in their newest command's time give different digests")
	}
}
