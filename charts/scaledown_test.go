package charts

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/fake"
)

// cluster answers the chart's lookups from the objects it holds, as the
// API server would during `helm install` or `helm upgrade`.
type cluster struct{ objects []runtime.Object }

func (c cluster) GetClientFor(apiVersion, kind string) (dynamic.NamespaceableResourceInterface, bool, error) {
	gvk := schema.FromAPIVersionAndKind(apiVersion, kind)
	resource := strings.ToLower(kind) + "s"
	gvr := gvk.GroupVersion().WithResource(resource)
	list := map[schema.GroupVersionResource]string{gvr: kind + "List"}
	return fake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), list, c.objects...).Resource(gvr), true, nil
}

// renderLive renders the chart with lookups answered by the objects:
// install (revision 1) or upgrade (revision 2).
func renderLive(t *testing.T, release string, vals map[string]any, upgrade bool, objects ...runtime.Object) (map[string]string, error) {
	t.Helper()
	c := loadChart(t)
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = kubeVersion
	opts := chartutil.ReleaseOptions{Name: release, Namespace: namespace, IsInstall: !upgrade, IsUpgrade: upgrade, Revision: 1}
	if upgrade {
		opts.Revision = 2
	}
	top, err := chartutil.ToRenderValuesWithSchemaValidation(c, vals, opts, caps, false)
	if err != nil {
		return nil, err
	}
	return engine.RenderWithClientProvider(c, top, cluster{objects})
}

// liveStatefulSet is the StatefulSet of a release installed with vals, as
// the cluster holds it, running replicas pods with the yizhan container's
// environment entries env set (the others as rendered).
func liveStatefulSet(t *testing.T, release string, vals map[string]any, replicas int64, env map[string]string) *unstructured.Unstructured {
	t.Helper()
	sts := installedStatefulSet(t, release, vals)
	if err := unstructured.SetNestedField(sts.Object, replicas, "spec", "replicas"); err != nil {
		t.Fatal(err)
	}
	containers, _, _ := unstructured.NestedSlice(sts.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		c := c.(map[string]any)
		if c["name"] != "yizhan" {
			continue
		}
		entries, _ := c["env"].([]any)
	next:
		for name, value := range env {
			for _, e := range entries {
				if e := e.(map[string]any); e["name"] == name {
					e["value"] = value
					continue next
				}
			}
			entries = append(entries, map[string]any{"name": name, "value": value})
		}
		c["env"] = entries
	}
	if err := unstructured.SetNestedSlice(sts.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		t.Fatal(err)
	}
	return sts
}

// Scaling an office down (a county of 3 to 1, of 5 to 3) was rendered
// without a word: the pods went, their nodes stayed voters of the raft
// group, and a county of 3 scaled to 1 kept 1 of 3 voters (no quorum, no
// leader, no writes). The chart now reads the StatefulSet the cluster runs
// and refuses a smaller replicas unless raft.membersRemoved says the nodes
// were removed from the group first (yizhan members --remove).
func TestScaleDownNeedsMembersRemoved(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		release  string
		was      int64
		changes  map[string]any
		wantErr  []string // nil: renders
		wantNote bool
	}{
		{
			name: "county 3 to 1", file: "township.yaml", release: "chengguan", was: 3,
			changes: map[string]any{"replicas": 1},
			wantErr: []string{"replicas 1 is fewer than the 3 nodes", "chengguan-1, chengguan-2", "no quorum", "yizhan members --peer 127.0.0.1:7070 --remove", "raft.membersRemoved=true"},
		},
		{
			name: "county 5 to 3", file: "county.yaml", release: "county", was: 5,
			changes: map[string]any{"replicas": 3},
			wantErr: []string{"replicas 3 is fewer than the 5 nodes", "county-3, county-4", "no voter to spare", "raft.membersRemoved=true"},
		},
		{
			name: "county 5 to 3 acknowledged", file: "county.yaml", release: "county", was: 5,
			changes:  map[string]any{"replicas": 3, "raft.membersRemoved": true},
			wantNote: true,
		},
		{name: "township 1 to 3", file: "township.yaml", release: "chengguan", was: 1},
		{name: "county unchanged", file: "county.yaml", release: "county", was: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			live := liveStatefulSet(t, tc.release, exampleValues(t, tc.file), tc.was, map[string]string{"YIZHAN_NAME": "$(POD_NAME)"})
			rendered, err := renderLive(t, tc.release, withChanges(t, tc.file, tc.changes), true, live)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("scaling from %d rendered", tc.was)
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error does not say %q:\n%v", want, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			o := decodeOffice(t, rendered)
			if note := strings.Contains(o.notes, "raft.membersRemoved=true is set"); note != tc.wantNote {
				t.Errorf("NOTES remind to unset raft.membersRemoved: %v, want %v:\n%s", note, tc.wantNote, o.notes)
			}
		})
	}
	// helm template has no cluster: lookup finds nothing, nothing to compare.
	if _, err := render(t, "county", withChanges(t, "county.yaml", map[string]any{"replicas": 3}), false); err != nil {
		t.Errorf("helm template: %v", err)
	}
}
