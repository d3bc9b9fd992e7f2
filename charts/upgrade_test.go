package charts

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/releaseutil"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// installedStatefulSet is the StatefulSet `helm install RELEASE` renders
// with vals, as the API server stores it: with the defaults it gives each
// claim template (volumeMode, status) and its sizes in canonical form
// (1.5Gi is kept as 1536Mi).
func installedStatefulSet(t *testing.T, release string, vals map[string]any) *unstructured.Unstructured {
	t.Helper()
	rendered, err := render(t, release, vals, false)
	if err != nil {
		t.Fatalf("install: %v", err)
	}
	for file, content := range rendered {
		if !strings.HasSuffix(file, "statefulset.yaml") {
			continue
		}
		for _, doc := range releaseutil.SplitManifests(content) {
			js, err := yaml.YAMLToJSON([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			sts := &unstructured.Unstructured{}
			if err := sts.UnmarshalJSON(js); err != nil || sts.GetKind() != "StatefulSet" {
				continue
			}
			claims, _, _ := unstructured.NestedSlice(sts.Object, "spec", "volumeClaimTemplates")
			for _, c := range claims {
				c := c.(map[string]any)
				spec := c["spec"].(map[string]any)
				spec["volumeMode"] = "Filesystem"
				c["status"] = map[string]any{"phase": "Pending"}
				size, _, _ := unstructured.NestedString(spec, "resources", "requests", "storage")
				q := resource.MustParse(size)
				if err := unstructured.SetNestedField(spec, q.String(), "resources", "requests", "storage"); err != nil {
					t.Fatal(err)
				}
			}
			if claims != nil {
				if err := unstructured.SetNestedSlice(sts.Object, claims, "spec", "volumeClaimTemplates"); err != nil {
					t.Fatal(err)
				}
			}
			return sts
		}
	}
	t.Fatalf("install rendered no StatefulSet")
	return nil
}

// A StatefulSet's volumeClaimTemplates cannot change, so an upgrade that
// changed persistence.size (or the class, the access modes, the claims'
// annotations, persistence.enabled) failed at `helm upgrade` with
// Kubernetes' bare "Forbidden: updates to statefulset spec for fields
// other than 'replicas', …", after helm had begun applying. The office
// code, which the claims' labels carry, cannot change under a running
// office either (its volumes hold its book). A fullnameOverride set,
// changed or unset on an upgrade renamed the StatefulSet: helm created a
// new office on empty claims and deleted the running one (its claims too
// under whenDeleted: Delete). The chart now compares what it renders with
// the running StatefulSet and refuses, naming the value, why and what to
// do instead; an upgrade that changes none of them renders.
func TestImmutableFieldsKeptOnUpgrade(t *testing.T) {
	tests := []struct {
		name      string
		file      string // default village.yaml, release dongcun
		release   string
		installed map[string]any   // values of the install, on the example's
		changes   map[string]any   // values of the upgrade, on the example's
		none      bool             // no StatefulSet of the release runs
		objects   []runtime.Object // more objects in the cluster
		wantErr   []string         // nil: renders
	}{
		{name: "nothing changed"},
		{name: "nothing changed, county of 3", file: "county.yaml", release: "county"},
		{name: "other values changed", changes: map[string]any{"logLevel": "debug", "image.tag": "9.9.9", "persistence.retentionPolicy.whenScaled": "Delete", "updateStrategy": "OnDelete"}},
		{name: "size spelt otherwise", changes: map[string]any{"persistence.size": "5120Mi"}},
		{name: "size kept by the API server in another form", installed: map[string]any{"persistence.size": "1.5Gi"}, changes: map[string]any{"persistence.size": "1.5Gi"}},
		{
			name: "bigger size", changes: map[string]any{"persistence.size": "20Gi"},
			wantErr: []string{
				"persistence.size 5Gi → 20Gi", "StatefulSet dongcun's volumeClaimTemplates ask 5Gi", "Kubernetes cannot change a StatefulSet's volumeClaimTemplates", "Forbidden",
				"allowVolumeExpansion", `for n in 0; do kubectl -n yizhan-test patch pvc data-dongcun-$n -p '{"spec":{"resources":{"requests":{"storage":"20Gi"}}}}'; done`,
				"keep persistence.size 5Gi as installed", "kubectl -n yizhan-test delete statefulset dongcun --cascade=orphan",
				`persistence.size 20Gi and nodeNamePrefix "110101001001-"`, `README.md, "Upgrades"`,
			},
		},
		{
			name: "bigger size, county of 3", file: "county.yaml", release: "county", changes: map[string]any{"persistence.size": "100Gi"},
			wantErr: []string{"persistence.size 50Gi → 100Gi", "for n in 0 1 2; do kubectl -n yizhan-test patch pvc data-county-$n", `"storage":"100Gi"`},
		},
		{
			name: "smaller size", changes: map[string]any{"persistence.size": "1Gi"},
			wantErr: []string{"persistence.size 5Gi → 1Gi", "a claim cannot shrink", "Keep persistence.size 5Gi"},
		},
		{name: "storage class kept", installed: map[string]any{"persistence.storageClass": "fast"}, changes: map[string]any{"persistence.storageClass": "fast"}},
		{
			name: "storage class named where none was", changes: map[string]any{"persistence.storageClass": "standard"},
			objects: []runtime.Object{claimOf("data-dongcun-0", "standard")},
			wantErr: []string{
				`persistence.storageClass "standard"`, `installed with "" (unset: each claim got the cluster's default class`,
				"data-dongcun-0's is standard, but the template names none", "volumeClaimTemplates", `Leave persistence.storageClass unset ("") as installed`,
				"new install on new claims with a backup of the office restored", `docs/OPERATIONS.md, "Restoring"`,
			},
		},
		{
			name: "another storage class", installed: map[string]any{"persistence.storageClass": "fast"}, changes: map[string]any{"persistence.storageClass": "slow"},
			wantErr: []string{`persistence.storageClass "slow", but StatefulSet dongcun was installed with "fast"`, "nor can a bound claim change its class", `Set persistence.storageClass "fast" as installed`},
		},
		{
			name: "storage class unset where none was provisioned", installed: map[string]any{"persistence.storageClass": "-"},
			wantErr: []string{`persistence.storageClass "", but StatefulSet dongcun was installed with "-" (storageClassName "": no dynamic provisioning)`, `Set persistence.storageClass "-" as installed`},
		},
		{
			name: "access modes", changes: map[string]any{"persistence.accessModes": []any{"ReadWriteOncePod"}},
			wantErr: []string{"persistence.accessModes [ReadWriteOnce] → [ReadWriteOncePod]", "Set persistence.accessModes [ReadWriteOnce] as installed"},
		},
		{name: "annotations kept", installed: map[string]any{"persistence.annotations": map[string]any{"backup.example/daily": "true"}}, changes: map[string]any{"persistence.annotations": map[string]any{"backup.example/daily": "true"}}},
		{
			name: "annotations added", changes: map[string]any{"persistence.annotations": map[string]any{"backup.example/daily": "true"}},
			wantErr: []string{`persistence.annotations {} → {"backup.example/daily":"true"}`, "Set persistence.annotations {} as installed", "kubectl -n yizhan-test annotate pvc data-dongcun-0 KEY=VALUE"},
		},
		{
			name: "persistence turned off", changes: map[string]any{"persistence.enabled": false},
			wantErr: []string{"persistence.enabled true → false", "data-dongcun-0", "Leave persistence.enabled true"},
		},
		{
			name: "persistence turned on", installed: map[string]any{"persistence.enabled": false},
			wantErr: []string{"persistence.enabled false → true", "installed without claims", "Leave persistence.enabled false", "backup"},
		},
		{
			name: "office code", changes: map[string]any{"officeCode": "110101001002"},
			wantErr: []string{
				"officeCode 110101001001 → 110101001002", "StatefulSet dongcun runs office 110101001001 (tier village)",
				"hold the book of office 110101001001", "refuses to start", `Set officeCode "110101001001" and tier village as installed`,
			},
		},
		{name: "fullnameOverride kept", installed: map[string]any{"fullnameOverride": "dc"}, changes: map[string]any{"fullnameOverride": "dc"}},
		{
			// With nodeNamePrefix pinned (as the NOTES suggest) nothing
			// else stopped the rename.
			name: "fullnameOverride set", changes: map[string]any{"fullnameOverride": "dc", "nodeNamePrefix": "110101001001-"},
			wantErr: []string{
				`the name dc (fullnameOverride "dc") would rename this release's office, which runs as StatefulSet dongcun`,
				"new, empty claims (data-dc-0 …)", "delete StatefulSet dongcun and its pods", "dongcun-0.dongcun-peers.yizhan-test.svc",
				"Its claims data-dongcun-0, which hold the office's data, would be kept (whenDeleted: Retain) but used by no pod",
				"Unset fullnameOverride (StatefulSet dongcun is named after the release): an office keeps the name it was installed with", "node names",
			},
		},
		{
			name: "fullnameOverride unset", installed: map[string]any{"fullnameOverride": "dc"}, changes: map[string]any{"nodeNamePrefix": "110101001001-"},
			wantErr: []string{`the name dongcun (the release name, fullnameOverride unset) would rename`, `Set fullnameOverride "dc"`},
		},
		{
			name: "fullnameOverride changed, claims deleted with the StatefulSet", file: "county.yaml", release: "county",
			installed: map[string]any{"fullnameOverride": "xian", "persistence.retentionPolicy.whenDeleted": "Delete"},
			changes:   map[string]any{"fullnameOverride": "county-office"},
			wantErr: []string{
				`the name county-office (fullnameOverride "county-office")`, "runs as StatefulSet xian",
				"Its claims data-xian-0 … data-xian-2, which hold the office's data, would be deleted with it", "the office's data would be lost", `Set fullnameOverride "xian"`,
			},
		},
		{
			name: "fullnameOverride set without claims", installed: map[string]any{"persistence.enabled": false}, changes: map[string]any{"persistence.enabled": false, "fullnameOverride": "dc", "nodeNamePrefix": "110101001001-"},
			wantErr: []string{"would rename", "The office's data, in emptyDir volumes, would be lost with its pods"},
		},
		{
			// Another release's StatefulSet in the namespace is no rename.
			name: "another release's StatefulSet", none: true, changes: map[string]any{"nodeNamePrefix": "110101001001-"},
			objects: []runtime.Object{installedStatefulSet(t, "xicun", exampleValues(t, "village.yaml"))},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file, release := tc.file, tc.release
			if file == "" {
				file, release = "village.yaml", "dongcun"
			}
			objects := tc.objects
			if !tc.none {
				objects = append(objects, installedStatefulSet(t, release, withChanges(t, file, tc.installed)))
			}
			rendered, err := renderLive(t, release, withChanges(t, file, tc.changes), true, objects...)
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
			decodeOffice(t, rendered)
		})
	}
	// helm template and a client-side --dry-run read no cluster: nothing
	// to compare with, nothing refused.
	if _, err := render(t, "dongcun", withChanges(t, "village.yaml", map[string]any{"persistence.size": "20Gi", "persistence.storageClass": "fast"}), false); err != nil {
		t.Errorf("helm template: %v", err)
	}
}

// claimOf is a claim as the cluster holds it, of the given class.
func claimOf(name, class string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "PersistentVolumeClaim",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"spec":     map[string]any{"storageClassName": class},
	}}
}
