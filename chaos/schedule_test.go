package chaos

import (
	"testing"
	"time"
)

var topology = Topology{
	Links: []string{"dongcun↔chengguan", "xicun↔chengguan", "chengguan↔county"},
	Nodes: []string{"county-1", "county-2", "county-3", "chengguan-1", "dongcun-1"},
}

// A schedule is made again exactly from its seed, and keeps its rules:
// within the run, no two faults on one target at once.
func TestScheduleFromSeed(t *testing.T) {
	const length = time.Minute
	a, b := NewSchedule(42, topology, length, 12), NewSchedule(42, topology, length, 12)
	if a.String() != b.String() {
		t.Fatalf("the same seed made two schedules:\n%s\n%s", a, b)
	}
	if c := NewSchedule(43, topology, length, 12); c.String() == a.String() {
		t.Error("another seed made the same schedule")
	}
	for seed := range uint64(200) {
		s := NewSchedule(seed, topology, length, 12)
		if len(s.Faults) == 0 {
			t.Fatalf("seed %d: no faults", seed)
		}
		for i, f := range s.Faults {
			if f.At < 0 || f.At+f.For > length {
				t.Errorf("seed %d: %v is outside the run", seed, f)
			}
			if i > 0 && f.At < s.Faults[i-1].At {
				t.Errorf("seed %d: faults out of order", seed)
			}
			for _, g := range s.Faults[i+1:] {
				if g.Target == f.Target && g.At < f.At+f.For && f.At < g.At+g.For {
					t.Errorf("seed %d: %v and %v overlap", seed, f, g)
				}
			}
			if f.Kind.IsLink() != contains(topology.Links, f.Target) {
				t.Errorf("seed %d: %v is on the wrong kind of target", seed, f)
			}
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
