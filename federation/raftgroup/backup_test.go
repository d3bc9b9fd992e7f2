package raftgroup

import (
	"strings"
	"testing"
	"time"
)

// A village point moved to a new machine is restored with `--name` of
// the new host (the node's own default, the host name). The refusal names
// the backup's members as NAME=ADDR and says to restore under one of
// their names (`--name dongcun-1`), as the node itself does at start; in
// an office of several nodes the wrong name is refused first, naming it,
// before the operator is asked to list every node with --members.
func TestRestoreUnderAWrongNameNamesTheMembersToRestoreUnder(t *testing.T) {
	info := BackupInfo{Office: "450122101203", Node: "dongcun-1", Index: 42, Term: 2,
		Members: []BackupMember{{ID: "dongcun-1", Address: "10.0.3.7:7000", Voter: true}}}
	err := CheckRestore(info, RestoreOptions{Node: "new-host"})
	if err == nil {
		t.Fatal("a restore under a name the backup does not hold was accepted")
	}
	msg := err.Error()
	for _, want := range []string{`"new-host"`, "dongcun-1=10.0.3.7:7000", "restore under one of their names (--name dongcun-1)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the refusal %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "{") || strings.Contains(msg, "--members") {
		t.Errorf("the refusal prints Go's dump of the members or steers to --members: %q", msg)
	}

	info.Members = append(info.Members, BackupMember{ID: "dongcun-2", Address: "10.0.3.8:7000", Voter: true})
	err = CheckRestore(info, RestoreOptions{Node: "dongcun-9"})
	if err == nil || !strings.Contains(err.Error(), `"dongcun-9"`) || !strings.Contains(err.Error(), "dongcun-2=10.0.3.8:7000") {
		t.Errorf("restore --name dongcun-9 of a backup of dongcun-1 and dongcun-2: %v; want a refusal naming the unknown node and the members", err)
	}
	// Under a member's name, the whole office is still asked for.
	if err := CheckRestore(info, RestoreOptions{Node: "dongcun-2"}); err == nil || !strings.Contains(err.Error(), "--members") {
		t.Errorf("restore --name dongcun-2 of an office of two nodes without --members: %v; want the office's nodes asked for", err)
	}
	// A name not among --members is refused naming the list given.
	given := []BackupMember{{ID: "new-1", Address: "10.0.4.1:7000", Voter: true}}
	if err := CheckRestore(info, RestoreOptions{Node: "dongcun-1", Members: given}); err == nil || !strings.Contains(err.Error(), "new-1=10.0.4.1:7000") {
		t.Errorf("restore --name dongcun-1 --members new-1=10.0.4.1:7000: %v; want a refusal naming the members given", err)
	}
}

// A county restored from a backup starts above any index it reached
// before: 100,000,000 past the backup at least, and above the clock's
// microseconds at the restore, so a county restored again from the same
// backup (or from an older one after it ran) starts above the first
// restore's life, whose offices below it then feeds. A village or a
// township starts at its backup's index.
func TestARestoredCountyStartsAboveEveryEarlierLife(t *testing.T) {
	first := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	info := BackupInfo{Office: "450122000000", Index: 5012, Term: 3, TakenAt: first.Add(-time.Hour)}
	start := RestoredIndex(info, first)
	if start < info.Index+RegistryIndexBump || start != uint64(first.UnixMicro()) {
		t.Errorf("restored at %s: index %d", first, start)
	}
	// The first life commits an entry each microsecond for an hour (more
	// than any county); the second restore, from the same file, is above.
	reached := start + uint64(time.Hour/time.Microsecond)
	if again := RestoredIndex(info, first.Add(time.Hour+time.Second)); again <= reached {
		t.Errorf("restored again an hour later at %d, below the first life's %d", again, reached)
	}
	if got := RestoredIndex(BackupInfo{Office: "450122000000", Index: 1 << 52}, first); got != 1<<52+RegistryIndexBump {
		t.Errorf("a backup past the clock: %d, want its index and RegistryIndexBump", got)
	}
	if got := RestoredIndex(BackupInfo{Office: "450122101203", Index: 5012}, first); got != 5012 {
		t.Errorf("a village restored at %d, want its backup's 5012", got)
	}

	// A clock that reads before the backup was taken is refused, before
	// anything is written: the restored index would be below the life
	// it replaces.
	info.Members = []BackupMember{{ID: "county-1", Address: "10.0.1.21:7000", Voter: true}}
	err := CheckRestore(info, RestoreOptions{Node: "county-1", Now: info.TakenAt.Add(-24 * time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "clock") {
		t.Errorf("a county restored with the clock a day before its backup: %v", err)
	}
	if err := CheckRestore(info, RestoreOptions{Node: "county-1", Now: info.TakenAt.Add(-time.Minute)}); err != nil {
		t.Errorf("a county restored with the clock a minute behind the backup's machine: %v", err)
	}
}
