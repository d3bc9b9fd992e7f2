package raftgroup

import (
	"strings"
	"testing"
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
