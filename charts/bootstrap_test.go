package charts

import (
	"fmt"
	"strings"
	"testing"
)

// renderUpgrade renders the chart like `helm upgrade RELEASE -n
// yizhan-test` of a release whose StatefulSet runs 1 pod named as the pod
// (scaling up from it is never refused).
func renderUpgrade(t *testing.T, release string, vals map[string]any) (map[string]string, error) {
	t.Helper()
	return renderLive(t, release, vals, true, liveStatefulSet(t, release, vals, 1, map[string]string{"YIZHAN_NAME": "$(POD_NAME)"}))
}

// Pod 0 of a multi-node office carried --bootstrap on every render, upgrades
// included. A recreated pod 0 that lost its volume then bootstrapped a
// second one-node group of the office beside the real one (split brain),
// and one that kept it never re-registered its new address. Pod 0 now
// bootstraps only in the install render; afterwards it joins the other
// pods like every pod (harmless with raft state: the node is a member and
// asks nobody). A one-node office, which has no one to join, keeps
// --bootstrap: the node ignores it once its data directory holds raft state.
func TestPodZeroBootstrapsOnlyAtInstall(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		release   string
		changes   map[string]any
		upgrade   bool
		wantBoot  bool
		wantAdmin bool
		wantJoin  []int // the ordinals pod 0 joins
	}{
		{name: "county install", file: "county.yaml", release: "county", wantBoot: true, wantAdmin: true},
		{name: "county upgrade", file: "county.yaml", release: "county", upgrade: true, wantJoin: []int{1, 2}},
		{name: "county of 5 upgrade", file: "county.yaml", release: "county", changes: map[string]any{"replicas": 5}, upgrade: true, wantJoin: []int{1, 2, 3, 4}},
		{name: "township of 3 upgrade", file: "township.yaml", release: "chengguan", upgrade: true, wantJoin: []int{1, 2}},
		{name: "county install, raft.bootstrap off", file: "county.yaml", release: "county", changes: map[string]any{"raft.bootstrap": false}, wantJoin: []int{1, 2}},
		{name: "village install", file: "village.yaml", release: "dongcun", wantBoot: true},
		{name: "village upgrade", file: "village.yaml", release: "dongcun", upgrade: true, wantBoot: true},
		{name: "township of 1 upgrade", file: "township.yaml", release: "chengguan", changes: map[string]any{"replicas": 1}, upgrade: true, wantBoot: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vals := withChanges(t, tc.file, tc.changes)
			var rendered map[string]string
			var err error
			if tc.upgrade {
				rendered, err = renderUpgrade(t, tc.release, vals)
			} else {
				rendered, err = render(t, tc.release, vals, false)
			}
			if err != nil {
				t.Fatal(err)
			}
			o := decodeOffice(t, rendered)
			p := podOf(t, o.sts, 0)
			_, boot := p.flag("bootstrap")
			_, admin := p.flag("bootstrap-admin-password-file")
			join, joins := p.flag("join")
			if boot != tc.wantBoot || admin != tc.wantAdmin {
				t.Errorf("pod 0 argv %q: bootstrap %v admin password %v, want %v %v", p.argv, boot, admin, tc.wantBoot, tc.wantAdmin)
			}
			if boot && joins {
				t.Errorf("pod 0 argv %q: --bootstrap with --join (the node refuses both on an empty data directory)", p.argv)
			}
			var want []string
			for _, i := range tc.wantJoin {
				want = append(want, fmt.Sprintf("%s-%d.%s-peers.%s.svc.cluster.local:7070", tc.release, i, tc.release, namespace))
			}
			if joins != (len(want) > 0) || join != strings.Join(want, ",") {
				t.Errorf("pod 0: --join=%q (set %v), want %q", join, joins, strings.Join(want, ","))
			}
			// The other pods join the rest in every render.
			for i := 1; i < int(*o.sts.Spec.Replicas); i++ {
				q := podOf(t, o.sts, i)
				if _, b := q.flag("bootstrap"); b {
					t.Errorf("pod %d bootstraps: %q", i, q.argv)
				}
				if j, _ := q.flag("join"); !strings.HasPrefix(j, tc.release+"-0.") {
					t.Errorf("pod %d: --join=%q does not start with pod 0", i, j)
				}
			}
			multi := *o.sts.Spec.Replicas > 1
			if hint := strings.Contains(o.notes, "--reuse-values"); hint != (multi && tc.wantBoot) {
				t.Errorf("NOTES suggest the upgrade that drops pod 0's --bootstrap: %v, want %v:\n%s", hint, multi && tc.wantBoot, o.notes)
			}
			if says := strings.Contains(o.notes, "pod 0 too, joins"); says != (multi && !tc.wantBoot) {
				t.Errorf("NOTES say pod 0 joins: %v, want %v:\n%s", says, multi && !tc.wantBoot, o.notes)
			}
		})
	}
}

// raft.bootstrap=false, the recovery switch for pod 0 of a multi-node
// office, rendered for a one-node office (every village, a township of 1)
// a pod 0 with neither --bootstrap nor a peer to join ("--join="): the node
// ran and was never ready ("belongs to no raft group"). It is refused.
func TestBootstrapOffOnOneNodeOfficeIsRefused(t *testing.T) {
	for _, tc := range []struct{ file, release string }{
		{"village.yaml", "dongcun"},
		{"township.yaml", "chengguan"},
	} {
		vals := withChanges(t, tc.file, map[string]any{"raft.bootstrap": false, "replicas": 1})
		for _, skipSchema := range []bool{false, true} {
			_, err := render(t, tc.release, vals, skipSchema)
			if err == nil {
				t.Errorf("%s: raft.bootstrap=false on a one-node office rendered", tc.file)
				continue
			}
			if !strings.Contains(err.Error(), "raft.bootstrap=false") || !strings.Contains(err.Error(), "replicas 1") {
				t.Errorf("%s: error does not name raft.bootstrap and replicas 1: %v", tc.file, err)
			}
		}
	}
}
