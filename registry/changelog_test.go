package registry

import (
	"errors"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

func TestApplyChainsTheChangelog(t *testing.T) {
	r := New(Options{})
	steps := []struct {
		index uint64
		cmd   *peerv1.RegistryCommand
	}{
		{3, createOffice(&yizhanv1.Office{Code: county, Name: "县"})},
		{7, createOffice(&yizhanv1.Office{Code: township, Name: "镇"})},
		{8, createDepartment(&yizhanv1.Department{Code: "scjg", Name: "市场监管"})},
	}
	for _, s := range steps {
		if _, err := r.Apply(s.index, s.cmd); err != nil {
			t.Fatal(err)
		}
		if r.Index() != s.index {
			t.Fatalf("Index = %d, want %d", r.Index(), s.index)
		}
	}
	entries, needSnapshot := r.ChangelogSince(0, 0)
	if needSnapshot || len(entries) != 3 {
		t.Fatalf("ChangelogSince(0) = %d entries, needSnapshot %v", len(entries), needSnapshot)
	}
	prev := uint64(0)
	for i, e := range entries {
		if e.GetIndex() != steps[i].index || e.GetPrevIndex() != prev || !proto.Equal(e.GetCommand(), steps[i].cmd) {
			t.Errorf("entry %d = %v", i, e)
		}
		prev = e.GetIndex()
	}
	if got := r.ChangelogFirstIndex(); got != 3 {
		t.Errorf("ChangelogFirstIndex = %d, want 3", got)
	}
}

func TestApplyStaleIndex(t *testing.T) {
	r := New(Options{})
	if _, err := r.Apply(5, createOffice(&yizhanv1.Office{Code: county, Name: "县"})); err != nil {
		t.Fatal(err)
	}
	for _, index := range []uint64{0, 4, 5} {
		before := r.Snapshot()
		_, err := r.Apply(index, createOffice(&yizhanv1.Office{Code: township, Name: "镇"}))
		if !errors.Is(err, ErrStaleIndex) {
			t.Errorf("Apply(%d) = %v, want ErrStaleIndex", index, err)
		}
		if !proto.Equal(before, r.Snapshot()) {
			t.Errorf("Apply(%d) changed the registry", index)
		}
	}
}

func TestReplayIntoSecondRegistry(t *testing.T) {
	county := fullCounty(t, Options{})
	entries, needSnapshot := county.ChangelogSince(0, 0)
	if needSnapshot {
		t.Fatal("needSnapshot from an untrimmed changelog")
	}
	replica := New(Options{})
	for _, e := range entries {
		if err := replica.Replay(e); err != nil {
			t.Fatalf("Replay(%d): %v", e.GetIndex(), err)
		}
	}
	if want, got := county.Snapshot(), replica.Snapshot(); !proto.Equal(want, got) {
		t.Errorf("replica snapshot differs from the county's\ncounty:  %v\nreplica: %v", want, got)
	}

	// Replaying again is a no-op: every entry is at or below the index.
	before := replica.Snapshot()
	for _, e := range entries {
		if err := replica.Replay(e); err != nil {
			t.Errorf("Replay of an old entry %d = %v, want nil", e.GetIndex(), err)
		}
	}
	if !proto.Equal(before, replica.Snapshot()) {
		t.Errorf("replaying old entries changed the replica")
	}
}

func TestReplayInBatches(t *testing.T) {
	county := fullCounty(t, Options{})
	replica := New(Options{})
	for {
		batch, needSnapshot := county.ChangelogSince(replica.Index(), 4)
		if needSnapshot {
			t.Fatal("needSnapshot")
		}
		if len(batch) == 0 {
			break
		}
		if len(batch) > 4 {
			t.Fatalf("batch of %d entries, max 4", len(batch))
		}
		for _, e := range batch {
			if err := replica.Replay(e); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !proto.Equal(county.Snapshot(), replica.Snapshot()) {
		t.Errorf("replica differs from the county")
	}
}

func TestReplayGap(t *testing.T) {
	src := fullCounty(t, Options{})
	entries, _ := src.ChangelogSince(0, 0)
	tests := []struct {
		name  string
		entry *peerv1.ChangelogEntry
		err   error
	}{
		{name: "skips one", entry: entries[3], err: ErrGap},
		{name: "prev index not ours", entry: &peerv1.ChangelogEntry{Index: entries[2].GetIndex() + 1, PrevIndex: entries[2].GetIndex() - 1, Command: entries[2].GetCommand()}, err: ErrGap},
		{name: "next one", entry: entries[2], err: nil},
		{name: "old one", entry: entries[0], err: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			replica := New(Options{})
			for _, e := range entries[:2] {
				if err := replica.Replay(e); err != nil {
					t.Fatal(err)
				}
			}
			before := replica.Snapshot()
			err := replica.Replay(tt.entry)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Replay = %v, want %v", err, tt.err)
			}
			if err != nil && !proto.Equal(before, replica.Snapshot()) {
				t.Errorf("a rejected replay changed the replica")
			}
		})
	}
}

func TestReplayRejectsInvalidCommand(t *testing.T) {
	tests := []struct {
		name  string
		entry *peerv1.ChangelogEntry
		field string
	}{
		{name: "no entry", entry: nil, field: "entry"},
		{name: "no command", entry: &peerv1.ChangelogEntry{Index: 1}, field: "command"},
		{name: "orphan office", entry: &peerv1.ChangelogEntry{Index: 1, Command: createOffice(&yizhanv1.Office{Code: village, Name: "村"})}, field: "office.code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(Options{})
			wantViolation(t, r.Replay(tt.entry), tt.field)
			if r.Index() != 0 || r.ChangelogFirstIndex() != 0 {
				t.Errorf("rejected replay moved the registry")
			}
		})
	}
}

func TestRetentionAndNeedSnapshot(t *testing.T) {
	r := fullCounty(t, Options{ChangelogRetention: 5})
	// fullCounty applies 20 commands at indexes 2, 4, …, 40.
	if r.Index() != 40 {
		t.Fatalf("Index = %d, want 40", r.Index())
	}
	if got := r.ChangelogFirstIndex(); got != 32 {
		t.Errorf("ChangelogFirstIndex = %d, want 32", got)
	}
	if got := len(r.Snapshot().GetChangelog()); got != 5 {
		t.Errorf("snapshot holds %d changelog entries, want 5", got)
	}
	tests := []struct {
		name         string
		since        uint64
		max          int
		first        uint64
		n            int
		needSnapshot bool
	}{
		{name: "from the start", since: 0, needSnapshot: true},
		{name: "just before the first's predecessor", since: 29, needSnapshot: true},
		{name: "at the first's predecessor", since: 30, first: 32, n: 5},
		{name: "between entries", since: 31, first: 32, n: 5},
		{name: "at the first", since: 32, first: 34, n: 4},
		{name: "limited", since: 32, max: 2, first: 34, n: 2},
		{name: "up to date", since: 40, n: 0},
		{name: "ahead", since: 100, n: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, needSnapshot := r.ChangelogSince(tt.since, tt.max)
			if needSnapshot != tt.needSnapshot || len(entries) != tt.n {
				t.Fatalf("ChangelogSince(%d, %d) = %d entries, needSnapshot %v; want %d, %v", tt.since, tt.max, len(entries), needSnapshot, tt.n, tt.needSnapshot)
			}
			if tt.n > 0 && entries[0].GetIndex() != tt.first {
				t.Errorf("first entry = %d, want %d", entries[0].GetIndex(), tt.first)
			}
		})
	}
}

func TestChangelogSinceEmpty(t *testing.T) {
	r := New(Options{})
	if entries, needSnapshot := r.ChangelogSince(0, 10); entries != nil || needSnapshot {
		t.Errorf("empty registry: %v, %v", entries, needSnapshot)
	}
	if r.ChangelogFirstIndex() != 0 {
		t.Errorf("ChangelogFirstIndex of an empty registry = %d", r.ChangelogFirstIndex())
	}
}

func TestChangelogEntriesAreClones(t *testing.T) {
	r := fullCounty(t, Options{})
	entries, _ := r.ChangelogSince(0, 1)
	entries[0].Command.GetCreateOffice().Office.Name = "changed"
	entries[0].Index = 999
	again, _ := r.ChangelogSince(0, 1)
	if again[0].GetIndex() == 999 || again[0].GetCommand().GetCreateOffice().GetOffice().GetName() == "changed" {
		t.Errorf("ChangelogSince returned the stored entries")
	}
}

func TestApplyAndReadConcurrently(t *testing.T) {
	r := newCounty(t)
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				r.Items(ItemFilter{OfficeCode: village, At: t0})
				r.Snapshot()
				r.ChangelogSince(0, 5)
				r.Rights("I1", village, t0)
				r.IsWorkingDay(t0)
			}
		}()
	}
	for i := range 50 {
		code := "I" + string(rune('A'+i%26)) + string(rune('a'+i/26))
		mustApply(t, r, createItem(validItem(code)))
		mustApply(t, r, createGrant(&yizhanv1.Grant{ItemCode: code, OfficeCode: village, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT}}))
	}
	close(done)
	wg.Wait()
	if got := len(r.Items(ItemFilter{OfficeCode: village, At: t0})); got != 50 {
		t.Errorf("village may take in %d items, want 50", got)
	}
}

// The newest command's time is the county's clock at its newest write,
// which a node's clock must not read much before: kept by Apply, Replay
// and a snapshot's changelog, never moved back by an older stamp (a
// change of the county's leader, whose clock is a little behind).
func TestNewestCommandTimeIsTheCountysLatestStamp(t *testing.T) {
	r := New(Options{})
	if got := r.NewestCommandTime(); !got.IsZero() {
		t.Fatalf("an empty registry's newest command time is %v, want zero", got)
	}
	at := func(cmd *peerv1.RegistryCommand, when time.Time) *peerv1.RegistryCommand {
		cmd.AtUnixNano = when.UnixNano()
		return cmd
	}
	nine := time.Date(2026, 12, 7, 9, 0, 0, 0, CST)
	steps := []struct {
		cmd  *peerv1.RegistryCommand
		want time.Time
	}{
		{at(createOffice(&yizhanv1.Office{Code: county, Name: "县"}), nine), nine},
		{at(createOffice(&yizhanv1.Office{Code: township, Name: "镇"}), nine.Add(time.Hour)), nine.Add(time.Hour)},
		{at(createDepartment(&yizhanv1.Department{Code: "scjg", Name: "市场监管"}), nine.Add(59*time.Minute)), nine.Add(time.Hour)},
	}
	for i, s := range steps {
		if _, err := r.Apply(uint64(i+1), s.cmd); err != nil {
			t.Fatal(err)
		}
		if got := r.NewestCommandTime(); !got.Equal(s.want) {
			t.Errorf("after command %d the newest command time is %v, want %v", i+1, got, s.want)
		}
	}
	want := nine.Add(time.Hour)

	replica := New(Options{})
	entries, _ := r.ChangelogSince(0, 0)
	for _, e := range entries {
		if err := replica.Replay(e); err != nil {
			t.Fatal(err)
		}
	}
	if got := replica.NewestCommandTime(); !got.Equal(want) {
		t.Errorf("a replica that replayed the changelog: %v, want %v", got, want)
	}

	restored := New(Options{ChangelogRetention: 1})
	if err := restored.Restore(r.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if got := restored.NewestCommandTime(); !got.Equal(want) {
		t.Errorf("a registry restored from a snapshot (keeping one entry of its changelog): %v, want %v", got, want)
	}
}
