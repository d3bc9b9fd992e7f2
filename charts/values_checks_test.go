package charts

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/releaseutil"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// /tmp was an emptyDir limited to 64Mi. A web filing form carries up to
// casework.MaxCaseAttachmentBytes (40 MiB) of scans plus 1 MiB of form
// (node/limits.go MaxUploadBody); web/web.go parses it with
// ParseMultipartForm(8 << 20), so all but 8 MiB of the files go to
// os.TempDir() = /tmp, and a node reads DefaultUploads = 4 such forms at
// once. Past the sizeLimit the kubelet evicts the pod: two clerks filing
// large scans at once could take a raft voter down. The limit is a value
// now (tmpSizeLimit, 192Mi), refused below 160Mi.
func TestTmpHoldsConcurrentUploads(t *testing.T) {
	const (
		maxUploadBody  = 40<<20 + 1<<20 // node.MaxUploadBody
		inMemory       = 8 << 20        // web/web.go ParseMultipartForm(8 << 20)
		defaultUploads = 4              // node.DefaultUploads
	)
	need := int64(defaultUploads * (maxUploadBody - inMemory))
	for _, file := range []string{"county.yaml", "township.yaml", "village.yaml"} {
		rendered, err := render(t, "office", exampleValues(t, file), false)
		if err != nil {
			t.Fatal(err)
		}
		o := decodeOffice(t, rendered)
		v, ok := volume(o.sts.Spec.Template.Spec, "tmp")
		if !ok || v.EmptyDir == nil || v.EmptyDir.SizeLimit == nil {
			t.Fatalf("%s: no size-limited tmp emptyDir: %+v", file, v)
		}
		if v.EmptyDir.SizeLimit.Cmp(*resource.NewQuantity(need, resource.BinarySI)) < 0 {
			t.Errorf("%s: /tmp sizeLimit %s < %d MiB that %d concurrent filing forms may spill there",
				file, v.EmptyDir.SizeLimit.String(), need>>20, defaultUploads)
		}
	}
	rendered, err := render(t, "dongcun", withChanges(t, "village.yaml", map[string]any{"tmpSizeLimit": "1Gi"}), false)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := volume(decodeOffice(t, rendered).sts.Spec.Template.Spec, "tmp"); v.EmptyDir.SizeLimit.String() != "1Gi" {
		t.Errorf("tmpSizeLimit 1Gi rendered sizeLimit %s", v.EmptyDir.SizeLimit.String())
	}
	for _, skipSchema := range []bool{false, true} {
		_, err := render(t, "dongcun", withChanges(t, "village.yaml", map[string]any{"tmpSizeLimit": "64Mi"}), skipSchema)
		if err == nil || !strings.Contains(err.Error(), "tmpSizeLimit 64Mi is below 160Mi") {
			t.Errorf("tmpSizeLimit 64Mi (skip schema %v): %v, want refused", skipSchema, err)
		}
	}
}

// Helm accepts release names that start with a digit (an office's code is
// a natural one: `helm install 110101001001 …`), but a Service name must be
// a DNS-1035 label, and the unquoted name was read by YAML as a number.
// The chart rendered and the API server refused the objects mid-install;
// fullnameOverride was checked for length only. The name is checked now,
// naming the value to change, and names and labels are quoted.
func TestObjectNamesAreValidServiceNames(t *testing.T) {
	for _, tc := range []struct {
		release, override string
		wantErr           string // "": renders
	}{
		{release: "110101001001", wantErr: `the name "110101001001" (the release name) is not a DNS-1035 label`},
		{release: "dongcun", override: "Dongcun_Village", wantErr: `the name "Dongcun_Village" (fullnameOverride) is not a DNS-1035 label`},
		{release: "110101001001", override: "v110101001001"},
	} {
		vals := exampleValues(t, "village.yaml")
		if tc.override != "" {
			setPath(vals, "fullnameOverride", tc.override)
		}
		rendered, err := render(t, tc.release, vals, false)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "Set fullnameOverride") {
				t.Errorf("release %q fullnameOverride %q: %v, want refused: %s … Set fullnameOverride", tc.release, tc.override, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("release %q fullnameOverride %q: %v", tc.release, tc.override, err)
		}
		for file, content := range rendered {
			if !strings.HasSuffix(file, ".yaml") {
				continue
			}
			for _, doc := range releaseutil.SplitManifests(content) {
				var obj map[string]any
				if err := yaml.Unmarshal([]byte(doc), &obj); err != nil || obj == nil {
					continue
				}
				meta, _ := obj["metadata"].(map[string]any)
				name, isString := meta["name"].(string)
				if !isString {
					t.Errorf("%v has metadata.name %v of type %T", obj["kind"], meta["name"], meta["name"])
					continue
				}
				labels, _ := meta["labels"].(map[string]any)
				if inst, ok := labels["app.kubernetes.io/instance"].(string); !ok || inst != tc.release {
					t.Errorf("%v %s: label app.kubernetes.io/instance %v (%T), want the string %q", obj["kind"], name, labels["app.kubernetes.io/instance"], labels["app.kubernetes.io/instance"], tc.release)
				}
				if obj["kind"] == "Service" {
					if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
						t.Errorf("Service %q is invalid: %v", name, errs)
					}
				}
			}
		}
	}
}

// The templates checked ports.metrics against the other ports but not the
// http, peer and raft ports against each other: the node then failed to
// listen twice on one port ("listen peer :8080: address already in use")
// and crash-looped, while the chart rendered it quietly. One check now
// covers all four.
func TestPortsMustDiffer(t *testing.T) {
	for _, tc := range []struct {
		changes map[string]any
		want    string
	}{
		{map[string]any{"ports.peer": 8080}, "ports.peer 8080 is also ports.http"},
		{map[string]any{"ports.raft": 7070}, "ports.raft 7070 is also ports.peer"},
		{map[string]any{"ports.raft": 8080}, "ports.raft 8080 is also ports.http"},
		{map[string]any{"ports.metrics": 7000}, "ports.metrics 7000 is also ports.raft"},
	} {
		for _, skipSchema := range []bool{false, true} {
			_, err := render(t, "dongcun", withChanges(t, "village.yaml", tc.changes), skipSchema)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: %v, want %q", tc.changes, err, tc.want)
			}
		}
	}
	if _, err := render(t, "dongcun", withChanges(t, "village.yaml", map[string]any{"ports.metrics": 0}), false); err != nil {
		t.Errorf("ports.metrics 0: %v", err)
	}
}

// The node sets its own soft memory limit by tier unless GOMEMLIMIT is set
// (cmd/yizhan/node.go tierMemoryLimits: county 384 MiB). The chart never
// set GOMEMLIMIT from the container's memory limit, so a county given a
// limit below that (256Mi) let the heap grow past the limit and was
// OOM-killed before the garbage collector pushed back. GOMEMLIMIT is now
// goMemLimitPercent (80) of the limit, a limit leaving less than the
// tier's own soft limit is refused, and each tier has default resources.
func TestGomemlimitFollowsMemoryLimit(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		changes map[string]any
		want    string // GOMEMLIMIT; "": unset
		wantMem string // the container's memory limit
		wantErr string
	}{
		{name: "county example 4Gi", file: "county.yaml", want: "3276MiB", wantMem: "4Gi"},
		{name: "county default", file: "county.yaml", changes: map[string]any{"resources": map[string]any{}}, want: "819MiB", wantMem: "1Gi"},
		{name: "township default", file: "township.yaml", want: "409MiB", wantMem: "512Mi"},
		{name: "village default", file: "village.yaml", changes: map[string]any{"resources": map[string]any{}}, want: "204MiB", wantMem: "256Mi"},
		{name: "decimal quantity", file: "village.yaml", changes: map[string]any{"resources.limits.memory": "1.5Gi"}, want: "1228MiB", wantMem: "1536Mi"},
		{name: "no memory limit", file: "village.yaml", changes: map[string]any{"resources": map[string]any{"requests": map[string]any{"cpu": "50m"}}}},
		{name: "percent 0", file: "village.yaml", changes: map[string]any{"goMemLimitPercent": 0}, wantMem: "512Mi"},
		{name: "own GOMEMLIMIT", file: "village.yaml", changes: map[string]any{"extraEnv": []any{map[string]any{"name": "GOMEMLIMIT", "value": "100MiB"}}}, want: "100MiB", wantMem: "512Mi"},
		{name: "county 256Mi", file: "county.yaml", changes: map[string]any{"resources.limits.memory": "256Mi"},
			wantErr: "resources.limits.memory 256Mi leaves the node a soft memory limit of 204 MiB (GOMEMLIMIT, goMemLimitPercent 80% of it), below the 384 MiB a county node sets itself"},
		{name: "county 256Mi at percent 0", file: "county.yaml", changes: map[string]any{"resources.limits.memory": "256Mi", "goMemLimitPercent": 0},
			wantErr: "Give the county at least 384Mi"},
		{name: "not a quantity", file: "village.yaml", changes: map[string]any{"resources.limits.memory": "lots"},
			wantErr: `resources.limits.memory "lots" is not a quantity`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rendered, err := render(t, "office", withChanges(t, tc.file, tc.changes), false)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("%v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			o := decodeOffice(t, rendered)
			c := o.sts.Spec.Template.Spec.Containers[0]
			var got []string
			for _, e := range c.Env {
				if e.Name == "GOMEMLIMIT" {
					got = append(got, e.Value)
				}
			}
			if tc.want == "" && len(got) != 0 || tc.want != "" && (len(got) != 1 || got[0] != tc.want) {
				t.Errorf("GOMEMLIMIT %q, want %q once", got, tc.want)
			}
			mem := c.Resources.Limits.Memory()
			if tc.wantMem == "" && !mem.IsZero() || tc.wantMem != "" && mem.Cmp(resource.MustParse(tc.wantMem)) != 0 {
				t.Errorf("memory limit %s, want %q", mem.String(), tc.wantMem)
			}
		})
	}
}
