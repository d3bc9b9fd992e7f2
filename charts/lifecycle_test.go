package charts

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	policyv1 "k8s.io/api/policy/v1"
)

// renderFor renders the chart for a cluster of Kubernetes version kv.
func renderFor(t *testing.T, kv chartutil.KubeVersion, release string, vals map[string]any) (map[string]string, error) {
	t.Helper()
	c := loadChart(t)
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = kv
	opts := chartutil.ReleaseOptions{Name: release, Namespace: namespace, IsInstall: true}
	top, err := chartutil.ToRenderValuesWithSchemaValidation(c, vals, opts, caps, false)
	if err != nil {
		return nil, err
	}
	return engine.Render(c, top)
}

// The pods' way out: the PDB let a pod that was not ready block a node
// drain (no unhealthyPodEvictionPolicy); the county's pods could not start
// once the bootstrap-admin Secret, read at install only, was deleted (the
// mount was not optional); a terminating node stopped serving before the
// Services' endpoints dropped it (no preStop). The image has no shell, so
// the pause is the kubelet's sleep action, on Kubernetes 1.30 and newer.
func TestPodsLeaveCleanly(t *testing.T) {
	rendered, err := render(t, "county", exampleValues(t, "county.yaml"), false)
	if err != nil {
		t.Fatal(err)
	}
	o := decodeOffice(t, rendered)
	if p := o.pdb.Spec.UnhealthyPodEvictionPolicy; p == nil || *p != policyv1.AlwaysAllow {
		t.Errorf("PDB unhealthyPodEvictionPolicy %v, want AlwaysAllow", p)
	}
	if v, _ := volume(o.sts.Spec.Template.Spec, "bootstrap-admin"); v.Secret == nil || v.Secret.Optional == nil || !*v.Secret.Optional {
		t.Errorf("bootstrap-admin Secret volume %+v is not optional", v.Secret)
	}
	c := o.sts.Spec.Template.Spec.Containers[0]
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds != 5 {
		t.Errorf("preStop %+v, want a sleep of 5 s", c.Lifecycle)
	}
	if g := *o.sts.Spec.Template.Spec.TerminationGracePeriodSeconds; g < 35 {
		t.Errorf("terminationGracePeriodSeconds %d leaves the node under 30 s after the sleep", g)
	}

	old := chartutil.KubeVersion{Version: "v1.29.4", Major: "1", Minor: "29"}
	rendered, err = renderFor(t, old, "county", exampleValues(t, "county.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c := decodeOffice(t, rendered).sts.Spec.Template.Spec.Containers[0]; c.Lifecycle != nil {
		t.Errorf("Kubernetes 1.29 has no sleep action, rendered %+v", c.Lifecycle)
	}

	_, err = render(t, "county", withChanges(t, "county.yaml", map[string]any{"terminationGracePeriodSeconds": 20}), false)
	if err == nil || !strings.Contains(err.Error(), "terminationGracePeriodSeconds 20") {
		t.Errorf("grace 20 with a sleep of 5: %v, want refused", err)
	}
	rendered, err = render(t, "county", withChanges(t, "county.yaml", map[string]any{"preStopSleepSeconds": 0, "terminationGracePeriodSeconds": 30}), false)
	if err != nil {
		t.Fatal(err)
	}
	if c := decodeOffice(t, rendered).sts.Spec.Template.Spec.Containers[0]; c.Lifecycle != nil {
		t.Errorf("preStopSleepSeconds 0 rendered %+v", c.Lifecycle)
	}
}

// The NOTES told to wait with `kubectl rollout status`, which refuses a
// StatefulSet of updateStrategy OnDelete, and said nothing when
// trustedProxies was set without behindTLS (the list is then not passed to
// the node at all).
func TestNotesFitTheValues(t *testing.T) {
	tests := []struct {
		name    string
		changes map[string]any
		want    []string
		notWant []string
	}{
		{name: "rolling update", want: []string{"rollout status statefulset/dongcun"}, notWant: []string{"WARNING: trustedProxies"}},
		{
			name:    "on delete",
			changes: map[string]any{"updateStrategy": "OnDelete"},
			want:    []string{"wait pod -l app.kubernetes.io/instance=dongcun --for=condition=Ready", "delete pod -l app.kubernetes.io/instance=dongcun"},
			notWant: []string{"rollout status"},
		},
		{
			name:    "trusted proxies without TLS",
			changes: map[string]any{"trustedProxies": []any{"10.244.0.0/16"}},
			want:    []string{"WARNING: trustedProxies is set but behindTLS is false"},
		},
		{
			name:    "trusted proxies behind TLS",
			changes: map[string]any{"trustedProxies": []any{"10.244.0.0/16"}, "behindTLS": true},
			notWant: []string{"WARNING: trustedProxies"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rendered, err := render(t, "dongcun", withChanges(t, "village.yaml", tc.changes), false)
			if err != nil {
				t.Fatal(err)
			}
			notes := decodeOffice(t, rendered).notes
			for _, w := range tc.want {
				if !strings.Contains(notes, w) {
					t.Errorf("NOTES lack %q:\n%s", w, notes)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(notes, w) {
					t.Errorf("NOTES say %q:\n%s", w, notes)
				}
			}
		})
	}
}
