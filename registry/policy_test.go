package registry

import (
	"testing"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

func putPolicy(days int32) *peerv1.RegistryCommand {
	return &peerv1.RegistryCommand{AtUnixNano: t0.UnixNano(), Actor: "admin",
		Op: &peerv1.RegistryCommand_PutSupervisionPolicy{PutSupervisionPolicy: &peerv1.PutSupervisionPolicy{Policy: &yizhanv1.SupervisionPolicy{WarningDays: days}}}}
}

// The county's supervision policy: the defaults until set, set by a
// command, kept by snapshots, refused out of range naming the field.
func TestSupervisionPolicy(t *testing.T) {
	r := newCounty(t)
	if p := r.SupervisionPolicy(); p.GetWarningDays() != 0 || p.GetRegistryIndex() != 0 {
		t.Errorf("before any: %v", p)
	}
	got := mustApply(t, r, putPolicy(5)).(*yizhanv1.SupervisionPolicy)
	if got.GetWarningDays() != 5 || got.GetRegistryIndex() != r.Index() {
		t.Errorf("applied: %v", got)
	}
	if p := r.SupervisionPolicy(); !proto.Equal(p, got) {
		t.Errorf("read back %v, want %v", p, got)
	}
	dst := New(Options{})
	if err := dst.Restore(r.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if p := dst.SupervisionPolicy(); p.GetWarningDays() != 5 {
		t.Errorf("after a snapshot: %v", p)
	}
	for _, days := range []int32{-1, MaxWarningDays + 1} {
		_, err := r.Apply(r.Index()+1, putPolicy(days))
		wantViolation(t, err, "policy.warning_days")
	}
	if p := r.SupervisionPolicy(); p.GetWarningDays() != 5 {
		t.Errorf("a refused write changed the policy: %v", p)
	}
}
