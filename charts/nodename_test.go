package charts

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// renderIn renders like `helm template RELEASE -n NS`.
func renderIn(t *testing.T, release, ns string, vals map[string]any) (map[string]string, error) {
	t.Helper()
	c := loadChart(t)
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = kubeVersion
	opts := chartutil.ReleaseOptions{Name: release, Namespace: ns, IsInstall: true}
	top, err := chartutil.ToRenderValuesWithSchemaValidation(c, vals, opts, caps, false)
	if err != nil {
		return nil, err
	}
	return engine.Render(c, top)
}

// statefulSetOf decodes the rendered StatefulSet, in whatever namespace.
func statefulSetOf(t *testing.T, rendered map[string]string) *appsv1.StatefulSet {
	t.Helper()
	for file, content := range rendered {
		if !strings.HasSuffix(file, "statefulset.yaml") {
			continue
		}
		for _, doc := range releaseutil.SplitManifests(content) {
			sts := &appsv1.StatefulSet{}
			if err := yaml.Unmarshal([]byte(doc), sts); err == nil && sts.Kind == "StatefulSet" {
				return sts
			}
		}
	}
	t.Fatalf("no StatefulSet rendered")
	return nil
}

// The node name (YIZHAN_NAME) is the node's raft ID and keys the
// county-wide node directory, so it must be unique in the federation. The
// chart set it to the pod name alone: two offices released under the same
// release name in different namespaces ("one namespace per office is fine
// too") announced the same names and overwrote each other's directory
// entries. A new install now prefixes the office code.
func TestNodeNamesDistinctAcrossOffices(t *testing.T) {
	names := map[string]string{}
	for _, tc := range []struct{ file, ns, code string }{
		{"township.yaml", "chengguan", "110101001000"},
		{"village.yaml", "dongcun", "110101001001"},
	} {
		rendered, err := renderIn(t, "yizhan", tc.ns, exampleValues(t, tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		p := podOf(t, statefulSetOf(t, rendered), 0)
		name := p.env["YIZHAN_NAME"]
		if want := tc.code + "-yizhan-0"; name != want {
			t.Errorf("%s: pod 0's node name %q, want %q", tc.file, name, want)
		}
		if other, dup := names[name]; dup {
			t.Errorf("node name %q given to pod 0 of %s (namespace %s) and of %s", name, tc.file, tc.ns, other)
		}
		names[name] = tc.file
	}
}

// The node name must never change for an office that runs (its raft
// configuration names its members by it): an upgrade keeps the names the
// running StatefulSet has, pod names for a release installed before the
// prefix existed, and a render that cannot tell is refused rather than
// guessing. A nodeNamePrefix given used to win over the running names,
// so setting it on an upgrade (values.yaml's example on an office
// installed before the prefix existed) renamed every node of the office:
// one that differs from the running prefix is refused now; with no
// StatefulSet to compare with, the given prefix is used.
func TestNodeNamesKeptOnUpgrade(t *testing.T) {
	claim := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "PersistentVolumeClaim",
		"metadata": map[string]any{"name": "data-dongcun-0", "namespace": namespace},
	}}
	tests := []struct {
		name    string
		changes map[string]any
		upgrade bool
		live    string // YIZHAN_NAME of the running StatefulSet; "-": none
		claim   bool
		want    string
		wantErr []string
	}{
		{name: "new install", live: "-", want: "110101001001-dongcun-0"},
		{name: "upgrade of a release named by pods", upgrade: true, live: "$(POD_NAME)", want: "dongcun-0"},
		{name: "upgrade of a prefixed release", upgrade: true, live: "110101001001-$(POD_NAME)", want: "110101001001-dongcun-0"},
		{name: "pinned prefix equal to the running one", upgrade: true, live: "110101001001-$(POD_NAME)", changes: map[string]any{"nodeNamePrefix": "110101001001-"}, want: "110101001001-dongcun-0"},
		{name: "pinned empty prefix equal to the running one", upgrade: true, live: "$(POD_NAME)", changes: map[string]any{"nodeNamePrefix": ""}, want: "dongcun-0"},
		{
			// values.yaml's commented example, uncommented on an upgrade of
			// an office installed before the prefix existed: it renamed
			// every node of the running office.
			name: "pinned prefix renaming the running nodes", upgrade: true, live: "$(POD_NAME)", changes: map[string]any{"nodeNamePrefix": "110101001001-"},
			wantErr: []string{`nodeNamePrefix "110101001001-" would rename the nodes of the running StatefulSet dongcun`, `named dongcun-0`, `prefix ""`, "raft ID", "cannot change under a running office", `Set nodeNamePrefix ""`, "removing them from the office's raft group", "adding them again"},
		},
		{
			name: "pinned prefix other than the running prefix", upgrade: true, live: "110101001001-$(POD_NAME)", changes: map[string]any{"nodeNamePrefix": "dc-"},
			wantErr: []string{`nodeNamePrefix "dc-" would rename`, `named 110101001001-dongcun-0`, `Set nodeNamePrefix "110101001001-"`},
		},
		{
			name: "pinned empty prefix under a prefixed release", upgrade: true, live: "110101001001-$(POD_NAME)", changes: map[string]any{"nodeNamePrefix": ""},
			wantErr: []string{`nodeNamePrefix "" would rename`, `Set nodeNamePrefix "110101001001-"`},
		},
		{name: "pinned prefix without the StatefulSet", upgrade: true, live: "-", changes: map[string]any{"nodeNamePrefix": "dc-"}, want: "dc-dongcun-0"},
		{name: "pinned prefix for running names of another form", upgrade: true, live: "dongcun", changes: map[string]any{"nodeNamePrefix": "dc-"}, want: "dc-dongcun-0"},
		{name: "pinned empty prefix", live: "-", changes: map[string]any{"nodeNamePrefix": ""}, want: "dongcun-0"},
		{
			name: "upgrade without the StatefulSet", upgrade: true, live: "-",
			wantErr: []string{"cannot tell the node names", "StatefulSet dongcun cannot be read", "nodeNamePrefix", `"110101001001-"`},
		},
		{
			name: "install over an earlier install's claim", live: "-", claim: true,
			wantErr: []string{"cannot tell the node names", "data-dongcun-0 holds the data of an earlier install", "nodeNamePrefix"},
		},
		{
			name: "running names of another form", upgrade: true, live: "dongcun",
			wantErr: []string{`its YIZHAN_NAME is "dongcun"`, "nodeNamePrefix"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var objects []runtime.Object
			if tc.live != "-" {
				objects = append(objects, liveStatefulSet(t, "dongcun", exampleValues(t, "village.yaml"), 1, map[string]string{"YIZHAN_NAME": tc.live}))
			}
			if tc.claim {
				objects = append(objects, claim)
			}
			rendered, err := renderLive(t, "dongcun", withChanges(t, "village.yaml", tc.changes), tc.upgrade, objects...)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("rendered")
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
			if got := podOf(t, o.sts, 0).env["YIZHAN_NAME"]; got != tc.want {
				t.Errorf("YIZHAN_NAME=%q, want %q", got, tc.want)
			}
			if !strings.Contains(o.notes, tc.want) {
				t.Errorf("NOTES do not name the node %s:\n%s", tc.want, o.notes)
			}
		})
	}
}
