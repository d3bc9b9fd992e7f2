package registry

import (
	"testing"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// FuzzApply feeds arbitrary marshalled commands to a small county. Apply
// must not panic, must agree with Check (which refuses more: the input
// limits), must change nothing when it fails, and a command it accepts
// must replay to the same state.
func FuzzApply(f *testing.F) {
	entries, _ := fullCounty(f, Options{}).ChangelogSince(0, 0)
	for _, e := range entries {
		b, err := proto.Marshal(e.GetCommand())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	bad := validItem("YC")
	bad.PromisedLimitDays = 99
	for _, cmd := range []*peerv1.RegistryCommand{
		updateItem(validItem("YC"), 1),
		updateItem(bad, 1),
		revokeGrant("g9"),
		revokeGrant("g1"),
		createStaff(validStaff("x", county), nil),
		putCalendar(&yizhanv1.Calendar{Year: 2025, Days: []*yizhanv1.CalendarDay{{Date: "2025-02-30", Kind: 1}}}),
		{},
	} {
		b, err := proto.Marshal(cmd)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cmd := &peerv1.RegistryCommand{}
		if err := proto.Unmarshal(data, cmd); err != nil {
			return
		}
		r := newCounty(t)
		mustApply(t, r, createItem(validItem("YC")))
		mustApply(t, r, createGrant(&yizhanv1.Grant{ItemCode: "YC", OfficeCode: village, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT}}))
		before := r.Snapshot()

		checkErr := r.Check(cmd)
		limitErr := CheckLimits(cmd)
		out, err := r.Apply(r.Index()+1, cmd)
		switch {
		case checkErr == nil && err != nil:
			t.Fatalf("Check accepted what Apply refuses: %v", err)
		case checkErr != nil && err == nil && limitErr == nil:
			t.Fatalf("Check = %v, Apply accepted", checkErr)
		case limitErr != nil && checkErr == nil:
			t.Fatalf("Check accepted what breaks the limits: %v", limitErr)
		case checkErr == nil && proto.Size(cmd) > MaxCommandBytes:
			t.Fatalf("Check accepted a command of %d bytes", proto.Size(cmd))
		}
		if err != nil {
			if !proto.Equal(before, r.Snapshot()) {
				t.Fatalf("a rejected command changed the registry: %v", err)
			}
			return
		}
		if out == nil || r.Index() != before.GetIndex()+1 {
			t.Fatalf("Apply returned %v at index %d", out, r.Index())
		}
		replica := New(Options{})
		if err := replica.Restore(before); err != nil {
			t.Fatal(err)
		}
		entries, _ := r.ChangelogSince(before.GetIndex(), 0)
		if len(entries) != 1 {
			t.Fatalf("%d new entries, want 1", len(entries))
		}
		if err := replica.Replay(entries[0]); err != nil {
			t.Fatalf("replay of an applied command: %v", err)
		}
		if !proto.Equal(r.Snapshot(), replica.Snapshot()) {
			t.Fatalf("replay differs from apply")
		}
	})
}
