package registry

import (
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// TestDigestAgreesDownTheTreeAndPartsOnADifference: the county, a
// township fed from it and a village fed from the township (password
// hashes redacted along the way) give the same digest at the same index,
// and so does a village restored from its township's redacted snapshot;
// one that applied a command differently does not, and a new command
// moves the county's.
func TestDigestAgreesDownTheTreeAndPartsOnADifference(t *testing.T) {
	countyReg := fullCounty(t, Options{})
	feed := func(from, to *Registry, office string) {
		t.Helper()
		entries, _ := from.ChangelogSince(to.Index(), 0)
		for _, e := range entries {
			if err := to.Replay(RedactEntry(e, office)); err != nil {
				t.Fatalf("replay %d into %s: %v", e.GetIndex(), office, err)
			}
		}
	}
	town := New(Options{})
	feed(countyReg, town, township)
	vil := New(Options{ChangelogRetention: 3})
	feed(town, vil, village)
	// As a village node is installed from its township's snapshot.
	restored := New(Options{})
	if err := restored.Restore(RedactSnapshot(town.Snapshot(), village)); err != nil {
		t.Fatal(err)
	}

	idx, want := countyReg.Digest()
	if len(want) != 64 {
		t.Fatalf("digest %q, want 64 hex digits", want)
	}
	for name, reg := range map[string]*Registry{"township": town, "village": vil, "restored": restored} {
		if i, got := reg.Digest(); i != idx || got != want {
			t.Errorf("%s: digest %s at %d, the county's %s at %d", name, got, i, want, idx)
		}
	}

	// The same index, one department named differently: what a node that
	// applied an entry its office never committed would hold.
	next := idx + 1
	mustApply(t, countyReg, createDepartment(&yizhanv1.Department{Code: "gaj", Name: "公安局"}))
	mustApply(t, restored, createDepartment(&yizhanv1.Department{Code: "gaj", Name: "公安分局"}))
	i1, d1 := countyReg.Digest()
	i2, d2 := restored.Digest()
	if i1 != next || i2 != next {
		t.Fatalf("indexes %d and %d, want %d", i1, i2, next)
	}
	if d1 == d2 {
		t.Errorf("two registries that differ give the same digest %s", d1)
	}
	if d1 == want {
		t.Errorf("the digest did not move with a new department")
	}
	// Asked again at the same index: the same answer.
	if _, again := countyReg.Digest(); again != d1 {
		t.Errorf("digest %s, then %s at the same index", d1, again)
	}
}
