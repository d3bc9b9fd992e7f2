package chaos

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Kind is a kind of fault.
type Kind int

const (
	// Link faults, on a proxy between two offices.
	CutLink Kind = iota
	BlackholeLink
	OneWayLink
	SlowLink
	// Process faults, on one node.
	KillRestart // kill -9, started again when the fault ends
	StopCont    // SIGSTOP, SIGCONT when the fault ends
	TransferLeadership
	// DiskFull makes every write that extends a file fail (the process's
	// file size limit set to 0, so writes fail with EFBIG as on a full
	// disk); when the fault ends the limit is lifted, or the node, if the
	// failure stopped it, started again.
	DiskFull
)

var kindNames = [...]string{CutLink: "cut", BlackholeLink: "blackhole", OneWayLink: "one-way", SlowLink: "slow",
	KillRestart: "kill-9", StopCont: "stop", TransferLeadership: "transfer-leadership", DiskFull: "disk-full"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind?"
}

// IsLink reports whether the fault is on a link (else on a process).
func (k Kind) IsLink() bool { return k <= SlowLink }

// TransferHold is how long a leadership transfer keeps other faults off its
// node: SIGTERM, the hand-over, the exit and the start again.
const TransferHold = 3 * time.Second

// Fault is one fault of a schedule: from At after the start, for For, on
// Target (a link's or a node's name).
type Fault struct {
	At, For time.Duration
	Kind    Kind
	Target  string
}

func (f Fault) String() string {
	return fmt.Sprintf("%6.1fs %-19s %-14s for %.1fs", f.At.Seconds(), f.Kind, f.Target, f.For.Seconds())
}

// Topology is what a schedule may break: the links between offices and
// the nodes, by name.
type Topology struct {
	Links []string
	Nodes []string
}

// Schedule is the faults of one run, in the order they start.
type Schedule struct {
	Seed   uint64
	Faults []Fault
}

// String is the schedule as a run's log prints it (and a bug report
// quotes it): the seed first, which makes it again.
func (s Schedule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "schedule seed=%d (%d faults)\n", s.Seed, len(s.Faults))
	for _, f := range s.Faults {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

// NewSchedule draws n faults over length from seed: the same seed and
// topology always make the same schedule. Each fault lasts between a
// tenth and a third of length; two faults on the same target never
// overlap; every fault has ended by length, so that a run heals before
// it is checked.
func NewSchedule(seed uint64, top Topology, length time.Duration, n int) Schedule {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s := Schedule{Seed: seed}
	busy := map[string][][2]time.Duration{}
	kinds := []Kind{}
	if len(top.Links) > 0 {
		kinds = append(kinds, CutLink, BlackholeLink, OneWayLink, SlowLink)
	}
	if len(top.Nodes) > 0 {
		kinds = append(kinds, KillRestart, StopCont, TransferLeadership, DiskFull)
	}
	if len(kinds) == 0 || length <= 0 {
		return s
	}
	for tries := 0; len(s.Faults) < n && tries < 20*n; tries++ {
		k := kinds[r.IntN(len(kinds))]
		targets := top.Nodes
		if k.IsLink() {
			targets = top.Links
		}
		target := targets[r.IntN(len(targets))]
		dur := length/10 + time.Duration(r.Int64N(int64(length/3-length/10)+1))
		// A hand-over is a moment, not a span, but the node takes a while
		// to hand over, stop and start again: no other fault on it then.
		hold := dur
		if k == TransferLeadership {
			dur, hold = 0, max(length/5, TransferHold)
		}
		at := time.Duration(r.Int64N(int64(length - dur + 1)))
		overlaps := slices.ContainsFunc(busy[target], func(w [2]time.Duration) bool { return at < w[1] && w[0] < at+hold })
		if overlaps {
			continue
		}
		busy[target] = append(busy[target], [2]time.Duration{at, at + hold})
		s.Faults = append(s.Faults, Fault{At: at, For: dur, Kind: k, Target: target})
	}
	slices.SortStableFunc(s.Faults, func(a, b Fault) int { return int(a.At - b.At) })
	return s
}
