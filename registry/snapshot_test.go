package registry

import (
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

func TestSnapshotRestoreRoundTrip(t *testing.T) {
	src := fullCounty(t, Options{})
	snap := src.Snapshot()
	if snap.GetIndex() != src.Index() || len(snap.GetChangelog()) != 20 || len(snap.GetCredentials()) != 4 || len(snap.GetItems()) != 2 {
		t.Fatalf("snapshot: index %d, %d entries, %d credentials, %d items", snap.GetIndex(), len(snap.GetChangelog()), len(snap.GetCredentials()), len(snap.GetItems()))
	}
	// Restore replaces whatever was there.
	dst := newCounty(t)
	mustApply(t, dst, createItem(validItem("GONE")))
	if err := dst.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(snap, dst.Snapshot()) {
		t.Fatalf("Snapshot after Restore differs")
	}
	if _, err := dst.Item("GONE", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Restore kept an item the snapshot does not have")
	}
	// The restored registry answers like the original.
	if it, err := dst.Item("YC", 1); err != nil || it.GetPromisedLimitDays() != 10 {
		t.Errorf("Item(YC, 1) = %v, %v", it, err)
	}
	if got, want := dst.Rights("YC", county, t0), src.Rights("YC", county, t0); !slices.Equal(got, want) || len(got) != 2 {
		t.Errorf("Rights after restore = %v, want %v", got, want)
	}
	if h, ok := dst.Credential("east.agent"); !ok || h == "" {
		t.Errorf("credential lost in restore")
	}
	if dst.IsWorkingDay(day("2027-01-04")) {
		t.Errorf("registry calendar lost in restore")
	}
	// It goes on where the original left off, for Apply and for its feed.
	if _, err := dst.Apply(dst.Index()+1, createDepartment(&yizhanv1.Department{Code: "gaj", Name: "公安局"})); err != nil {
		t.Fatal(err)
	}
	entries, needSnapshot := dst.ChangelogSince(src.Index(), 0)
	if needSnapshot || len(entries) != 1 || entries[0].GetPrevIndex() != src.Index() {
		t.Errorf("changelog after restore: %v, needSnapshot %v", entries, needSnapshot)
	}
	// The snapshot is a clone: changing it changes nothing.
	snap.Offices[0].Name = "changed"
	if o, _ := src.Office(snap.Offices[0].GetCode()); o.GetName() == "changed" {
		t.Errorf("Snapshot aliases the registry")
	}
	if o, _ := dst.Office(snap.Offices[0].GetCode()); o.GetName() == "changed" {
		t.Errorf("Restore aliases the snapshot")
	}
}

func TestRestoreThenReplay(t *testing.T) {
	county := fullCounty(t, Options{ChangelogRetention: 3})
	replica := New(Options{ChangelogRetention: 3})
	_, needSnapshot := county.ChangelogSince(replica.Index(), 0)
	if !needSnapshot {
		t.Fatal("a fresh replica of a trimmed changelog must need a snapshot")
	}
	if err := replica.Restore(county.Snapshot()); err != nil {
		t.Fatal(err)
	}
	mustApply(t, county, createDepartment(&yizhanv1.Department{Code: "gaj", Name: "公安局"}))
	entries, needSnapshot := county.ChangelogSince(replica.Index(), 0)
	if needSnapshot || len(entries) != 1 {
		t.Fatalf("ChangelogSince after restore = %d, %v", len(entries), needSnapshot)
	}
	if err := replica.Replay(entries[0]); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(county.Snapshot(), replica.Snapshot()) {
		t.Errorf("replica differs from the county")
	}
}

func TestRestoreTrimsToRetention(t *testing.T) {
	snap := fullCounty(t, Options{}).Snapshot()
	r := New(Options{ChangelogRetention: 4})
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if got := len(r.Snapshot().GetChangelog()); got != 4 {
		t.Errorf("restored changelog has %d entries, want 4", got)
	}
	if _, needSnapshot := r.ChangelogSince(0, 0); !needSnapshot {
		t.Errorf("needSnapshot = false for entries that were trimmed")
	}
}

func TestRestoreRejected(t *testing.T) {
	edit := func(f func(s *peerv1.RegistrySnapshot)) *peerv1.RegistrySnapshot {
		s := fullCounty(t, Options{}).Snapshot()
		f(s)
		return s
	}
	tests := []struct {
		name string
		snap *peerv1.RegistrySnapshot
	}{
		{name: "nil", snap: nil},
		{name: "office code invalid", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Offices[1].Code = "x" })},
		{name: "office twice", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Offices = append(s.Offices, s.Offices[1]) })},
		{name: "two counties", snap: edit(func(s *peerv1.RegistrySnapshot) {
			s.Offices = append(s.Offices, &yizhanv1.Office{Code: "450123000000"})
		})},
		{name: "department twice", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Departments = append(s.Departments, s.Departments[0]) })},
		{name: "department without code", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Departments[0].Code = "" })},
		{name: "empty item history", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Items = append(s.Items, &peerv1.ItemHistory{}) })},
		{name: "item twice", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Items = append(s.Items, s.Items[0]) })},
		{name: "item version gap", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Items[1].Versions[1].Version = 3 })},
		{name: "item history mixes codes", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Items[1].Versions[1].Code = "OTHER" })},
		{name: "grant twice", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Grants = append(s.Grants, s.Grants[0]) })},
		{name: "grant without id", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Grants[0].Id = "" })},
		{name: "staff twice", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Staff = append(s.Staff, s.Staff[0]) })},
		{name: "staff without username", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Staff[0].Username = "" })},
		{name: "credential of nobody", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Credentials[0].Username = "nobody" })},
		{name: "credential twice", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Credentials = append(s.Credentials, s.Credentials[0]) })},
		{name: "calendar twice", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Calendars = append(s.Calendars, s.Calendars[0]) })},
		{name: "node twice", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Nodes = append(s.Nodes, s.Nodes[0]) })},
		{name: "node without name", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Nodes[0].Name = "" })},
		{name: "changelog chain broken", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Changelog[5].PrevIndex-- })},
		{name: "changelog entry before its prev", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Changelog[0].PrevIndex = 100 })},
		{name: "changelog ends elsewhere", snap: edit(func(s *peerv1.RegistrySnapshot) { s.Index++ })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCounty(t)
			before := r.Snapshot()
			if err := r.Restore(tt.snap); !errors.Is(err, ErrInvalidSnapshot) {
				t.Fatalf("Restore = %v, want ErrInvalidSnapshot", err)
			}
			if !proto.Equal(before, r.Snapshot()) {
				t.Errorf("a rejected Restore changed the registry")
			}
		})
	}
}

func TestRestoreSkipsRedactedCredentials(t *testing.T) {
	snap := fullCounty(t, Options{}).Snapshot()
	snap.Credentials[0].PasswordHash = ""
	r := New(Options{})
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Credential(snap.Credentials[0].GetUsername()); ok {
		t.Errorf("an empty hash was restored as a credential")
	}
	if got := len(r.Snapshot().GetCredentials()); got != 3 {
		t.Errorf("%d credentials, want 3", got)
	}
}
