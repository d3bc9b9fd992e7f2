package registry

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
)

func TestCanSignIn(t *testing.T) {
	tests := []struct {
		name          string
		signer, staff string
		want          bool
	}{
		{name: "own village", signer: village, staff: village, want: true},
		{name: "township for its village", signer: township, staff: village, want: true},
		{name: "county for a village", signer: county, staff: village, want: true},
		{name: "county for itself", signer: county, staff: county, want: true},
		{name: "village for its township", signer: village, staff: township, want: false},
		{name: "village for the county", signer: village, staff: county, want: false},
		{name: "sibling village", signer: village2, staff: village, want: false},
		{name: "other township", signer: township2, staff: village, want: false},
		{name: "other county", signer: "450123000000", staff: village, want: false},
		{name: "invalid signer", signer: "", staff: village, want: false},
		{name: "invalid staff office", signer: county, staff: "", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CanSignIn(tt.signer, tt.staff); got != tt.want {
				t.Errorf("CanSignIn(%q, %q) = %v, want %v", tt.signer, tt.staff, got, tt.want)
			}
		})
	}
}

func staffEntry(username, office string) *peerv1.ChangelogEntry {
	return &peerv1.ChangelogEntry{Index: 9, PrevIndex: 8, Command: createStaff(validStaff(username, office), cred(username))}
}

func TestRedactEntry(t *testing.T) {
	tests := []struct {
		name       string
		entry      *peerv1.ChangelogEntry
		subscriber string
		keepsHash  bool
	}{
		{name: "village staff to its village", entry: staffEntry("east", village), subscriber: village, keepsHash: true},
		{name: "village staff to its township", entry: staffEntry("east", village), subscriber: township, keepsHash: true},
		{name: "village staff to a sibling", entry: staffEntry("east", village), subscriber: village2},
		{name: "township staff to its village", entry: staffEntry("town", township), subscriber: village},
		{name: "county staff to a township", entry: staffEntry("boss", county), subscriber: township},
		{name: "village staff to another township", entry: staffEntry("east", village), subscriber: township2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := proto.CloneOf(tt.entry)
			got := RedactEntry(tt.entry, tt.subscriber)
			if !proto.Equal(tt.entry, orig) {
				t.Errorf("RedactEntry changed its argument")
			}
			c := got.GetCommand().GetCreateStaff().GetCredential()
			if (c.GetPasswordHash() != "") != tt.keepsHash {
				t.Errorf("hash = %q, want kept %v", c.GetPasswordHash(), tt.keepsHash)
			}
			if c.GetUsername() != tt.entry.GetCommand().GetCreateStaff().GetStaff().GetUsername() {
				t.Errorf("redaction dropped the credential's username")
			}
			// Everything but the hash is as it was.
			got.Command.GetCreateStaff().Credential.PasswordHash = orig.GetCommand().GetCreateStaff().GetCredential().GetPasswordHash()
			if !proto.Equal(got, orig) {
				t.Errorf("RedactEntry changed more than the hash")
			}
		})
	}
	// Other commands pass unchanged (as a clone).
	e := &peerv1.ChangelogEntry{Index: 2, PrevIndex: 1, Command: createOffice(nil)}
	got := RedactEntry(e, village)
	if !proto.Equal(got, e) || got == e {
		t.Errorf("RedactEntry of an office command = %v", got)
	}
}

func TestRedactSnapshot(t *testing.T) {
	src := fullCounty(t, Options{})
	snap := src.Snapshot()
	tests := []struct {
		name       string
		subscriber string
		want       []string
	}{
		{name: "county", subscriber: county, want: []string{"county.admin", "east.agent", "town.clerk", "west.agent"}},
		{name: "township", subscriber: township, want: []string{"east.agent", "town.clerk", "west.agent"}},
		{name: "village", subscriber: village, want: []string{"east.agent"}},
		{name: "township without staff", subscriber: township2, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			red := RedactSnapshot(snap, tt.subscriber)
			var got []string
			for _, c := range red.GetCredentials() {
				got = append(got, c.GetUsername())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("credentials = %v, want %v", got, tt.want)
			}
			var inLog []string
			for _, e := range red.GetChangelog() {
				if c := e.GetCommand().GetCreateStaff().GetCredential(); c.GetPasswordHash() != "" {
					inLog = append(inLog, c.GetUsername())
				}
			}
			slices.Sort(inLog)
			if !slices.Equal(inLog, tt.want) {
				t.Errorf("hashes in the changelog = %v, want %v", inLog, tt.want)
			}
			// A restored subscriber holds the same.
			r := New(Options{})
			if err := r.Restore(red); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(r.Snapshot(), red) {
				t.Errorf("Restore of a redacted snapshot does not round-trip")
			}
		})
	}
	if !proto.Equal(snap, src.Snapshot()) {
		t.Errorf("RedactSnapshot changed its argument")
	}
	if RedactSnapshot(nil, village) != nil {
		t.Errorf("RedactSnapshot(nil) != nil")
	}
}

// TestRedactedFeedDownTheTree replays the county's feed into a township
// and the township's feed into a village, redacting at each hop as the
// feed does: each office ends with the hashes it may use and the same
// registry otherwise.
func TestRedactedFeedDownTheTree(t *testing.T) {
	countyReg := fullCounty(t, Options{})
	feed := func(from, to *Registry, office string) {
		t.Helper()
		entries, needSnapshot := from.ChangelogSince(to.Index(), 0)
		if needSnapshot {
			t.Fatal("needSnapshot")
		}
		for _, e := range entries {
			if err := to.Replay(RedactEntry(e, office)); err != nil {
				t.Fatalf("replay %d into %s: %v", e.GetIndex(), office, err)
			}
		}
	}
	town := New(Options{})
	feed(countyReg, town, township)
	vil := New(Options{})
	feed(town, vil, village)

	tests := []struct {
		name string
		reg  *Registry
		want []string
	}{
		{name: "county", reg: countyReg, want: []string{"county.admin", "east.agent", "town.clerk", "west.agent"}},
		{name: "township", reg: town, want: []string{"east.agent", "town.clerk", "west.agent"}},
		{name: "village", reg: vil, want: []string{"east.agent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, m := range tt.reg.StaffList("") {
				if _, ok := tt.reg.Credential(m.GetUsername()); ok {
					got = append(got, m.GetUsername())
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("credentials = %v, want %v", got, tt.want)
			}
			if n := len(tt.reg.StaffList("")); n != 4 {
				t.Errorf("%d staff, want all 4", n)
			}
			// Apart from credentials the replicas agree with the county.
			if want, got := RedactSnapshot(countyReg.Snapshot(), "450122101203"), RedactSnapshot(tt.reg.Snapshot(), "450122101203"); !proto.Equal(want, got) {
				t.Errorf("replica differs from the county beyond credentials")
			}
		})
	}
}
