package charts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/yizhan-gov/yizhan/charts/internal/podargs"
)

const (
	chartDir  = "yizhan"
	namespace = "yizhan-test"
)

// kubeVersion is the cluster the chart is linted and rendered for (the
// library's default capabilities claim Kubernetes 1.20).
var kubeVersion = chartutil.KubeVersion{Version: "v1.31.0", Major: "1", Minor: "31"}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return c
}

func exampleValues(t *testing.T, file string) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValuesFile(filepath.Join(chartDir, "examples", file))
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	return v.AsMap()
}

// remove, as a value in setPath, deletes the key; nil sets it to null (in
// Helm, a user's null removes the chart's default).
type remove struct{}

// setPath sets a dotted path in values, creating maps on the way.
func setPath(vals map[string]any, path string, v any) {
	keys := strings.Split(path, ".")
	m := vals
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	last := keys[len(keys)-1]
	if v == (remove{}) {
		delete(m, last)
		return
	}
	m[last] = v
}

// render renders the chart like `helm template RELEASE -n yizhan-test`.
func render(t *testing.T, release string, vals map[string]any, skipSchema bool) (map[string]string, error) {
	t.Helper()
	c := loadChart(t)
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = kubeVersion
	opts := chartutil.ReleaseOptions{Name: release, Namespace: namespace, IsInstall: true}
	top, err := chartutil.ToRenderValuesWithSchemaValidation(c, vals, opts, caps, skipSchema)
	if err != nil {
		return nil, err
	}
	return engine.Render(c, top)
}

// office holds the rendered objects of one release, each decoded strictly
// into its API type.
type office struct {
	sts      *appsv1.StatefulSet
	services map[string]*corev1.Service
	sa       *corev1.ServiceAccount
	pdb      *policyv1.PodDisruptionBudget
	netpol   *networkingv1.NetworkPolicy
	cert     *unstructured.Unstructured
	monitor  *unstructured.Unstructured
	rules    *unstructured.Unstructured
	kinds    []string
	notes    string
}

// decodeStrict decodes JSON into v, refusing fields v does not know.
func decodeStrict(t *testing.T, doc []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %T strictly: %v\n%s", v, err, doc)
	}
}

func decodeOffice(t *testing.T, rendered map[string]string) *office {
	t.Helper()
	o := &office{services: map[string]*corev1.Service{}}
	files := make([]string, 0, len(rendered))
	for f := range rendered {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, file := range files {
		content := rendered[file]
		if strings.HasSuffix(file, "NOTES.txt") {
			o.notes = content
			continue
		}
		if !strings.HasSuffix(file, ".yaml") {
			continue
		}
		for _, doc := range releaseutil.SplitManifests(content) {
			js, err := yaml.YAMLToJSON([]byte(doc))
			if err != nil {
				t.Fatalf("%s: not YAML: %v\n%s", file, err, doc)
			}
			var head metav1.TypeMeta
			if err := json.Unmarshal(js, &head); err != nil || string(js) == "null" {
				continue // a document holding only comments
			}
			if head.Kind == "" {
				continue
			}
			o.kinds = append(o.kinds, head.Kind)
			switch head.APIVersion + " " + head.Kind {
			case "apps/v1 StatefulSet":
				if o.sts != nil {
					t.Fatalf("two StatefulSets")
				}
				o.sts = &appsv1.StatefulSet{}
				decodeStrict(t, js, o.sts)
			case "v1 Service":
				s := &corev1.Service{}
				decodeStrict(t, js, s)
				o.services[s.Name] = s
			case "v1 ServiceAccount":
				o.sa = &corev1.ServiceAccount{}
				decodeStrict(t, js, o.sa)
			case "policy/v1 PodDisruptionBudget":
				o.pdb = &policyv1.PodDisruptionBudget{}
				decodeStrict(t, js, o.pdb)
			case "networking.k8s.io/v1 NetworkPolicy":
				o.netpol = &networkingv1.NetworkPolicy{}
				decodeStrict(t, js, o.netpol)
			case "cert-manager.io/v1 Certificate":
				o.cert = &unstructured.Unstructured{}
				if err := o.cert.UnmarshalJSON(js); err != nil {
					t.Fatalf("Certificate: %v", err)
				}
			case "monitoring.coreos.com/v1 ServiceMonitor":
				o.monitor = &unstructured.Unstructured{}
				if err := o.monitor.UnmarshalJSON(js); err != nil {
					t.Fatalf("ServiceMonitor: %v", err)
				}
			case "monitoring.coreos.com/v1 PrometheusRule":
				o.rules = &unstructured.Unstructured{}
				if err := o.rules.UnmarshalJSON(js); err != nil {
					t.Fatalf("PrometheusRule: %v", err)
				}
			default:
				t.Fatalf("%s: unexpected object %s %s", file, head.APIVersion, head.Kind)
			}
			var meta struct {
				Metadata metav1.ObjectMeta `json:"metadata"`
			}
			if err := json.Unmarshal(js, &meta); err != nil {
				t.Fatal(err)
			}
			if meta.Metadata.Namespace != namespace {
				t.Errorf("%s %s: namespace %q, want %q", head.Kind, meta.Metadata.Name, meta.Metadata.Namespace, namespace)
			}
		}
	}
	if o.sts == nil {
		t.Fatalf("no StatefulSet rendered; kinds: %v", o.kinds)
	}
	return o
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expand substitutes $(VAR) references like the kubelet does: defined
// variables are replaced, others left as they are.
func expand(s string, env map[string]string) string {
	return varRef.ReplaceAllStringFunc(s, func(ref string) string {
		if v, ok := env[ref[2:len(ref)-1]]; ok {
			return v
		}
		return ref
	})
}

// pod is what the node process of one ordinal gets: the command line
// yizhan-pod executes and the environment.
type pod struct {
	argv []string
	env  map[string]string
}

// podOf plays the kubelet and the image entrypoint for pod <ordinal>.
func podOf(t *testing.T, sts *appsv1.StatefulSet, ordinal int) pod {
	t.Helper()
	c := sts.Spec.Template.Spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = fmt.Sprintf("%s-%d", sts.Name, ordinal)
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env[e.Name] = sts.Namespace
		case e.ValueFrom != nil:
			t.Fatalf("env %s: unexpected valueFrom", e.Name)
		default:
			env[e.Name] = expand(e.Value, env)
		}
	}
	var cmd []string
	for _, s := range append(slices.Clone(c.Command), c.Args...) {
		cmd = append(cmd, expand(s, env))
	}
	if len(cmd) == 0 || cmd[0] != "/usr/local/bin/yizhan-pod" {
		t.Fatalf("container command %q does not start with the entrypoint /usr/local/bin/yizhan-pod", cmd)
	}
	argv, err := podargs.Command(cmd[1:], func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("pod %d: %v", ordinal, err)
	}
	return pod{argv: argv, env: env}
}

func (p pod) flag(name string) (string, bool) {
	for _, a := range p.argv {
		if a == "--"+name {
			return "true", true
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func TestLintExamples(t *testing.T) {
	tests := []struct {
		name string
		file string
	}{
		{name: "county", file: "county.yaml"},
		{name: "township", file: "township.yaml"},
		{name: "village", file: "village.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kv := kubeVersion
			res := lint.AllWithKubeVersion(chartDir, exampleValues(t, tc.file), namespace, &kv)
			for _, m := range res.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("lint: %s", m)
				} else {
					t.Logf("lint: %s", m)
				}
			}
		})
	}
}

func TestRenderExamples(t *testing.T) {
	tests := []struct {
		name         string
		file         string
		release      string
		code         string
		replicas     int32
		upstream     string
		size         string
		storageClass *string
		wantPDB      bool
		certManager  bool
		monitor      bool
		adminSecret  string
		officeName   string
		behindTLS    bool
	}{
		{
			name: "county", file: "county.yaml", release: "county", code: "110101000000",
			replicas: 3, size: "50Gi", storageClass: ptr("fast-ssd"), wantPDB: true,
			certManager: true, monitor: true, adminSecret: "county-admin", officeName: "城关县政务服务中心",
			behindTLS: true,
		},
		{
			name: "township", file: "township.yaml", release: "chengguan", code: "110101001000",
			replicas: 3, size: "20Gi", wantPDB: true, certManager: true,
			upstream: "county-0.county-peers.yizhan-county.svc.cluster.local:7070," +
				"county-1.county-peers.yizhan-county.svc.cluster.local:7070," +
				"county-2.county-peers.yizhan-county.svc.cluster.local:7070",
		},
		{
			name: "village", file: "village.yaml", release: "dongcun", code: "110101001001",
			replicas: 1, size: "5Gi",
			upstream: "chengguan-0.chengguan-peers.yizhan-townships.svc.cluster.local:7070," +
				"chengguan-1.chengguan-peers.yizhan-townships.svc.cluster.local:7070," +
				"chengguan-2.chengguan-peers.yizhan-townships.svc.cluster.local:7070," +
				"county-0.county-peers.yizhan-county.svc.cluster.local:7070," +
				"county-1.county-peers.yizhan-county.svc.cluster.local:7070," +
				"county-2.county-peers.yizhan-county.svc.cluster.local:7070",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rendered, err := render(t, tc.release, exampleValues(t, tc.file), false)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			o := decodeOffice(t, rendered)
			sts := o.sts
			peers := tc.release + "-peers"

			// The StatefulSet.
			if sts.Name != tc.release {
				t.Errorf("StatefulSet name %q, want %q", sts.Name, tc.release)
			}
			if sts.Spec.Replicas == nil || *sts.Spec.Replicas != tc.replicas {
				t.Errorf("replicas %v, want %d", sts.Spec.Replicas, tc.replicas)
			}
			if sts.Spec.ServiceName != peers {
				t.Errorf("serviceName %q, want %q", sts.Spec.ServiceName, peers)
			}
			if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
				t.Errorf("podManagementPolicy %q, want Parallel", sts.Spec.PodManagementPolicy)
			}
			if got := sts.Spec.Template.Labels["yizhan.gov/office"]; got != tc.code {
				t.Errorf("pod label yizhan.gov/office %q, want %q", got, tc.code)
			}

			// Volume claims.
			if len(sts.Spec.VolumeClaimTemplates) != 1 {
				t.Fatalf("%d volumeClaimTemplates, want 1", len(sts.Spec.VolumeClaimTemplates))
			}
			pvc := sts.Spec.VolumeClaimTemplates[0]
			if pvc.Name != "data" {
				t.Errorf("claim template %q, want data", pvc.Name)
			}
			if got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; got.Cmp(resource.MustParse(tc.size)) != 0 {
				t.Errorf("claim size %s, want %s", got.String(), tc.size)
			}
			if !reflect.DeepEqual(pvc.Spec.StorageClassName, tc.storageClass) {
				t.Errorf("storageClassName %v, want %v", deref(pvc.Spec.StorageClassName), deref(tc.storageClass))
			}
			if !slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) {
				t.Errorf("access modes %v", pvc.Spec.AccessModes)
			}
			if rp := sts.Spec.PersistentVolumeClaimRetentionPolicy; rp == nil || rp.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
				t.Errorf("claims are not retained when the StatefulSet is deleted: %+v", rp)
			}

			// The container: probes, ports, mounts.
			c := sts.Spec.Template.Spec.Containers[0]
			checkProbe(t, "readiness", c.ReadinessProbe, "/readyz")
			checkProbe(t, "liveness", c.LivenessProbe, "/healthz")
			wantPorts := map[string]int32{"http": 8080, "peer": 7070, "raft": 7000, "metrics": 9090}
			for _, p := range c.Ports {
				if wantPorts[p.Name] != p.ContainerPort {
					t.Errorf("container port %s = %d, want %d", p.Name, p.ContainerPort, wantPorts[p.Name])
				}
				delete(wantPorts, p.Name)
			}
			if len(wantPorts) != 0 {
				t.Errorf("container ports missing: %v", wantPorts)
			}
			if !hasMount(c, "data", "/var/lib/yizhan") || !hasMount(c, "tls", "/etc/yizhan/tls") {
				t.Errorf("mounts %+v lack data or tls", c.VolumeMounts)
			}

			// Security.
			checkSecurity(t, sts.Spec.Template.Spec)

			// Each pod's command line and environment.
			for i := 0; i < int(tc.replicas); i++ {
				p := podOf(t, sts, i)
				name := fmt.Sprintf("%s-%d", tc.release, i)
				host := fmt.Sprintf("%s.%s.%s.svc.cluster.local", name, peers, namespace)
				if !slices.Equal(p.argv[:2], []string{"/usr/local/bin/yizhan", "node"}) {
					t.Errorf("pod %d runs %q, want /usr/local/bin/yizhan node ...", i, p.argv)
				}
				wantEnv := map[string]string{
					"YIZHAN_OFFICE":    tc.code,
					"YIZHAN_NAME":      tc.code + "-" + name,
					"YIZHAN_ADVERTISE": host,
					"YIZHAN_DATA":      "/var/lib/yizhan",
					"YIZHAN_HTTP_ADDR": ":8080",
					"YIZHAN_PEER_ADDR": ":7070",
					"YIZHAN_RAFT_ADDR": ":7000",
					"YIZHAN_TLS_CERT":  "/etc/yizhan/tls/tls.crt",
					"YIZHAN_TLS_KEY":   "/etc/yizhan/tls/tls.key",
					"YIZHAN_TLS_CA":    "/etc/yizhan/tls/ca.crt",
					"YIZHAN_LOG_LEVEL": "info",
					// /metrics off the http port, so off the ingress.
					"YIZHAN_METRICS_ADDR": ":9090",
				}
				for k, want := range wantEnv {
					if got := p.env[k]; got != want {
						t.Errorf("pod %d: %s=%q, want %q", i, k, got, want)
					}
				}
				if got := p.env["YIZHAN_OFFICE_NAME"]; got != tc.officeName {
					t.Errorf("pod %d: YIZHAN_OFFICE_NAME=%q, want %q", i, got, tc.officeName)
				}
				if got, ok := p.env["YIZHAN_BEHIND_TLS"]; ok != tc.behindTLS || (ok && got != "true") {
					t.Errorf("pod %d: YIZHAN_BEHIND_TLS=%q (set %v), want set %v", i, got, ok, tc.behindTLS)
				}
				if got, ok := p.env["YIZHAN_UPSTREAM"]; got != tc.upstream || ok != (tc.upstream != "") {
					t.Errorf("pod %d: YIZHAN_UPSTREAM=%q (set %v), want %q", i, got, ok, tc.upstream)
				}
				for k := range p.env {
					if k == "YIZHAN_BOOTSTRAP" || k == "YIZHAN_JOIN" {
						t.Errorf("pod %d: %s must come from the pod's own arguments, not the shared env", i, k)
					}
				}
				_, boot := p.flag("bootstrap")
				join, joins := p.flag("join")
				admin, hasAdmin := p.flag("bootstrap-admin-password-file")
				if i == 0 {
					if !boot || joins {
						t.Errorf("pod 0: argv %q, want --bootstrap and no --join", p.argv)
					}
					if tc.adminSecret != "" && admin != "/etc/yizhan/bootstrap/admin-password" {
						t.Errorf("pod 0: --bootstrap-admin-password-file=%q", admin)
					}
					if tc.adminSecret == "" && hasAdmin {
						t.Errorf("pod 0 of a %s gets --bootstrap-admin-password-file", tc.name)
					}
					continue
				}
				if boot || hasAdmin {
					t.Errorf("pod %d: argv %q bootstraps", i, p.argv)
				}
				var want []string
				for j := 0; j < int(tc.replicas); j++ {
					if j != i {
						want = append(want, fmt.Sprintf("%s-%d.%s.%s.svc.cluster.local:7070", tc.release, j, peers, namespace))
					}
				}
				if join != strings.Join(want, ",") {
					t.Errorf("pod %d: --join=%q, want %q", i, join, strings.Join(want, ","))
				}
				if !strings.HasPrefix(join, tc.release+"-0.") {
					t.Errorf("pod %d: --join does not start with pod 0: %q", i, join)
				}
			}
			if _, ok := podOfEnv(sts)[fmt.Sprintf("POD_ORDINAL_ARGS_%d", tc.replicas)]; ok {
				t.Errorf("arguments rendered for ordinal %d beyond replicas", tc.replicas)
			}

			// The admin password: county only.
			_, adminVol := volume(sts.Spec.Template.Spec, "bootstrap-admin")
			if (tc.adminSecret != "") != adminVol {
				t.Errorf("bootstrap-admin volume present=%v, want %v", adminVol, tc.adminSecret != "")
			}
			if tc.adminSecret != "" {
				v, _ := volume(sts.Spec.Template.Spec, "bootstrap-admin")
				if v.Secret == nil || v.Secret.SecretName != tc.adminSecret {
					t.Errorf("bootstrap-admin volume %+v, want Secret %s", v, tc.adminSecret)
				}
			}

			// TLS Secret and Certificate.
			tlsVol, ok := volume(sts.Spec.Template.Spec, "tls")
			if !ok || tlsVol.Secret == nil {
				t.Fatalf("no tls Secret volume")
			}
			if tc.certManager {
				if tlsVol.Secret.SecretName != tc.release+"-tls" {
					t.Errorf("tls Secret %q, want %s-tls", tlsVol.Secret.SecretName, tc.release)
				}
				checkCertificate(t, o.cert, tc.release, tc.code, tc.release+"-tls")
			} else if o.cert != nil {
				t.Errorf("Certificate rendered without tls.certManager.enabled")
			}

			// Services.
			checkServices(t, o, tc.release)

			// PodDisruptionBudget only for 3 or more replicas.
			if tc.wantPDB != (o.pdb != nil) {
				t.Errorf("PodDisruptionBudget present=%v, want %v", o.pdb != nil, tc.wantPDB)
			}
			if o.pdb != nil {
				if o.pdb.Spec.MaxUnavailable == nil || o.pdb.Spec.MaxUnavailable.IntValue() != 1 {
					t.Errorf("PDB maxUnavailable %v, want 1", o.pdb.Spec.MaxUnavailable)
				}
				if !reflect.DeepEqual(o.pdb.Spec.Selector.MatchLabels, sts.Spec.Selector.MatchLabels) {
					t.Errorf("PDB selector %v, StatefulSet selector %v", o.pdb.Spec.Selector.MatchLabels, sts.Spec.Selector.MatchLabels)
				}
			}

			// ServiceMonitor.
			if tc.monitor != (o.monitor != nil) {
				t.Errorf("ServiceMonitor present=%v, want %v", o.monitor != nil, tc.monitor)
			}
			if o.monitor != nil {
				eps, _, _ := unstructured.NestedSlice(o.monitor.Object, "spec", "endpoints")
				if len(eps) != 1 {
					t.Fatalf("ServiceMonitor endpoints %v", eps)
				}
				ep := eps[0].(map[string]any)
				if ep["port"] != "metrics" || ep["path"] != "/metrics" {
					t.Errorf("ServiceMonitor endpoint %v, want port metrics path /metrics", ep)
				}
				if got, _, _ := unstructured.NestedString(o.monitor.Object, "metadata", "labels", "release"); got != "kube-prometheus-stack" {
					t.Errorf("ServiceMonitor label release=%q", got)
				}
			}
			if o.sa == nil || o.sa.AutomountServiceAccountToken == nil || *o.sa.AutomountServiceAccountToken {
				t.Errorf("ServiceAccount missing or mounting its token")
			}
			if o.netpol == nil {
				t.Errorf("no NetworkPolicy")
			}
			if !strings.Contains(o.notes, tc.release+"-0."+peers) {
				t.Errorf("NOTES do not list the peer addresses:\n%s", o.notes)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%q", *s)
}

func podOfEnv(sts *appsv1.StatefulSet) map[string]string {
	m := map[string]string{}
	for _, e := range sts.Spec.Template.Spec.Containers[0].Env {
		m[e.Name] = e.Value
	}
	return m
}

func volume(spec corev1.PodSpec, name string) (corev1.Volume, bool) {
	for _, v := range spec.Volumes {
		if v.Name == name {
			return v, true
		}
	}
	return corev1.Volume{}, false
}

func hasMount(c corev1.Container, name, path string) bool {
	for _, m := range c.VolumeMounts {
		if m.Name == name && m.MountPath == path {
			return true
		}
	}
	return false
}

func checkProbe(t *testing.T, what string, p *corev1.Probe, path string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s probe: %+v, want httpGet %s", what, p, path)
		return
	}
	if p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" {
		t.Errorf("%s probe: %s on port %s, want %s on port http", what, p.HTTPGet.Path, p.HTTPGet.Port.String(), path)
	}
}

func checkSecurity(t *testing.T, spec corev1.PodSpec) {
	t.Helper()
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 {
		t.Errorf("pod security context %+v: want runAsNonRoot, runAsUser 65532", psc)
	}
	if psc == nil || psc.FSGroup == nil || *psc.FSGroup != 65532 {
		t.Errorf("pod fsGroup not 65532: the data volume would not be writable")
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod seccomp profile not RuntimeDefault")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("pod mounts a service account token")
	}
	sc := spec.Containers[0].SecurityContext
	if sc == nil {
		t.Fatalf("no container security context")
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 {
		t.Errorf("container not non-root 65532: %+v", sc)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("root filesystem not read-only")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("privilege escalation allowed")
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
		t.Errorf("capabilities %+v, want drop ALL", sc.Capabilities)
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container seccomp profile not RuntimeDefault")
	}
}

func checkCertificate(t *testing.T, cert *unstructured.Unstructured, release, code, secret string) {
	t.Helper()
	if cert == nil {
		t.Fatalf("no Certificate rendered")
	}
	if cert.GetAPIVersion() != "cert-manager.io/v1" || cert.GetKind() != "Certificate" {
		t.Errorf("Certificate is %s %s", cert.GetAPIVersion(), cert.GetKind())
	}
	uris, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "uris")
	if want := []string{"spiffe://yizhan/office/" + code}; !slices.Equal(uris, want) {
		t.Errorf("Certificate uris %q, want %q", uris, want)
	}
	if got, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName"); got != secret {
		t.Errorf("Certificate secretName %q, want %q", got, secret)
	}
	if got, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "name"); got != "yizhan-county-ca" {
		t.Errorf("Certificate issuer %q", got)
	}
	if got, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "kind"); got != "ClusterIssuer" {
		t.Errorf("Certificate issuer kind %q", got)
	}
	dns, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	for _, want := range []string{
		fmt.Sprintf("*.%s-peers.%s.svc.cluster.local", release, namespace),
		fmt.Sprintf("%s.%s.svc.cluster.local", release, namespace),
	} {
		if !slices.Contains(dns, want) {
			t.Errorf("Certificate dnsNames %q lack %q", dns, want)
		}
	}
	usages, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "usages")
	for _, want := range []string{"server auth", "client auth"} {
		if !slices.Contains(usages, want) {
			t.Errorf("Certificate usages %q lack %q (mutual TLS)", usages, want)
		}
	}
	known := []string{"secretName", "secretTemplate", "issuerRef", "duration", "renewBefore", "privateKey", "usages", "uris", "dnsNames"}
	spec, _, _ := unstructured.NestedMap(cert.Object, "spec")
	for k := range spec {
		if !slices.Contains(known, k) {
			t.Errorf("Certificate spec has unexpected field %q", k)
		}
	}
}

func checkServices(t *testing.T, o *office, release string) {
	t.Helper()
	headless := o.services[release+"-peers"]
	if headless == nil {
		t.Fatalf("no headless Service %s-peers; services: %v", release, keys(o.services))
	}
	if headless.Spec.ClusterIP != corev1.ClusterIPNone || !headless.Spec.PublishNotReadyAddresses {
		t.Errorf("peers Service: clusterIP %q publishNotReadyAddresses %v, want None, true", headless.Spec.ClusterIP, headless.Spec.PublishNotReadyAddresses)
	}
	ports := map[string]int32{}
	for _, p := range headless.Spec.Ports {
		ports[p.Name] = p.Port
	}
	if !reflect.DeepEqual(ports, map[string]int32{"http": 8080, "peer": 7070, "raft": 7000, "metrics": 9090}) {
		t.Errorf("peers Service ports %v", ports)
	}
	client := o.services[release]
	if client == nil {
		t.Fatalf("no client Service %s", release)
	}
	if client.Spec.ClusterIP == corev1.ClusterIPNone || len(client.Spec.Ports) != 1 || client.Spec.Ports[0].Name != "http" || client.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("client Service spec %+v, want one http port", client.Spec)
	}
	for _, s := range []*corev1.Service{headless, client} {
		if !reflect.DeepEqual(s.Spec.Selector, o.sts.Spec.Selector.MatchLabels) {
			t.Errorf("Service %s selects %v, pods carry %v", s.Name, s.Spec.Selector, o.sts.Spec.Selector.MatchLabels)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// peerSummary renders NetworkPolicy peers as comparable strings.
func peerSummary(peers []networkingv1.NetworkPolicyPeer) []string {
	var out []string
	for _, p := range peers {
		var parts []string
		if p.IPBlock != nil {
			parts = append(parts, "cidr="+p.IPBlock.CIDR)
		}
		if p.NamespaceSelector != nil {
			parts = append(parts, "ns="+selector(p.NamespaceSelector))
		}
		if p.PodSelector != nil {
			parts = append(parts, "pods="+selector(p.PodSelector))
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

func selector(s *metav1.LabelSelector) string {
	if len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0 {
		return "{}"
	}
	var kv []string
	for _, k := range keys(s.MatchLabels) {
		kv = append(kv, k+"="+s.MatchLabels[k])
	}
	return strings.Join(kv, ",")
}

func TestNetworkPolicy(t *testing.T) {
	const self = "pods=app.kubernetes.io/instance=%s,app.kubernetes.io/name=yizhan"
	tests := []struct {
		name    string
		file    string
		release string
		peer    []string
		http    []string
		metrics []string // nil: as http
	}{
		{
			name: "county", file: "county.yaml", release: "county",
			peer: []string{
				fmt.Sprintf(self, "county"),
				"ns={} pods=app.kubernetes.io/name=yizhan,yizhan.gov/county=110101000000",
				"cidr=10.20.0.0/16",
			},
			// Prometheus on the metrics port only, clients on http only.
			http: []string{
				fmt.Sprintf(self, "county"),
				"ns=kubernetes.io/metadata.name=ingress-nginx",
			},
			metrics: []string{
				fmt.Sprintf(self, "county"),
				"ns=kubernetes.io/metadata.name=monitoring",
			},
		},
		{
			name: "township", file: "township.yaml", release: "chengguan",
			peer: []string{
				fmt.Sprintf(self, "chengguan"),
				"ns={} pods=app.kubernetes.io/name=yizhan,yizhan.gov/office=110101000000",
				"ns={} pods=app.kubernetes.io/name=yizhan,yizhan.gov/tier=village,yizhan.gov/township=110101001000",
			},
			http: []string{
				fmt.Sprintf(self, "chengguan"),
				"ns=kubernetes.io/metadata.name=ingress-nginx",
			},
		},
		{
			name: "village", file: "village.yaml", release: "dongcun",
			peer: []string{
				fmt.Sprintf(self, "dongcun"),
				"ns={} pods=app.kubernetes.io/name=yizhan,yizhan.gov/office=110101001000",
				"ns={} pods=app.kubernetes.io/name=yizhan,yizhan.gov/office=110101000000",
			},
			http: []string{
				fmt.Sprintf(self, "dongcun"),
				"ns={}",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rendered, err := render(t, tc.release, exampleValues(t, tc.file), false)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			o := decodeOffice(t, rendered)
			np := o.netpol
			if np == nil {
				t.Fatalf("no NetworkPolicy")
			}
			if !reflect.DeepEqual(np.Spec.PodSelector.MatchLabels, o.sts.Spec.Selector.MatchLabels) {
				t.Errorf("policy selects %v, pods %v", np.Spec.PodSelector.MatchLabels, o.sts.Spec.Selector.MatchLabels)
			}
			if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) {
				t.Errorf("policyTypes %v", np.Spec.PolicyTypes)
			}
			byPort := map[string][]string{}
			for _, rule := range np.Spec.Ingress {
				if len(rule.Ports) != 1 || rule.Ports[0].Port == nil {
					t.Fatalf("rule ports %+v, want one named port per rule", rule.Ports)
				}
				byPort[rule.Ports[0].Port.String()] = peerSummary(rule.From)
			}
			want := map[string][]string{
				"raft":    {fmt.Sprintf(self, tc.release)},
				"peer":    tc.peer,
				"http":    tc.http,
				"metrics": tc.metrics,
			}
			if tc.metrics == nil {
				want["metrics"] = tc.http
			}
			if !reflect.DeepEqual(byPort, want) {
				t.Errorf("ingress by port:\n got %q\nwant %q", byPort, want)
			}
		})
	}
}

// withChanges returns an example's values with changes applied.
func withChanges(t *testing.T, file string, changes map[string]any) map[string]any {
	t.Helper()
	vals := exampleValues(t, file)
	for path, v := range changes {
		setPath(vals, path, v)
	}
	return vals
}

func TestBadValues(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		changes map[string]any
		// schema: substrings of the schema validation error.
		schema []string
		// template: substring of the error with schema validation skipped
		// (helm --skip-schema-validation): the template helper's own check.
		template string
	}{
		{
			name:     "missing office code",
			file:     "county.yaml",
			changes:  map[string]any{"officeCode": remove{}},
			schema:   []string{"missing property 'officeCode'"},
			template: "officeCode is required",
		},
		{
			name:     "office code not 12 digits",
			file:     "township.yaml",
			changes:  map[string]any{"officeCode": "1101010010"},
			schema:   []string{"at '/officeCode'", "^[0-9]{12}$"},
			template: `officeCode "1101010010" is not a 12-digit division code`,
		},
		{
			name:     "missing tier",
			file:     "village.yaml",
			changes:  map[string]any{"tier": remove{}},
			schema:   []string{"missing property 'tier'"},
			template: "tier must be county, township or village",
		},
		{
			name:     "even number of county replicas",
			file:     "county.yaml",
			changes:  map[string]any{"replicas": 4},
			schema:   []string{"at '/replicas'", "3, 5"},
			template: "a county runs 3 or 5 nodes (replicas 4 refused",
		},
		{
			name:     "one county replica",
			file:     "county.yaml",
			changes:  map[string]any{"replicas": 1},
			schema:   []string{"at '/replicas'", "3, 5"},
			template: "a county runs 3 or 5 nodes (replicas 1 refused",
		},
		{
			name:     "township of 2",
			file:     "township.yaml",
			changes:  map[string]any{"replicas": 2},
			schema:   []string{"at '/replicas'", "1, 3"},
			template: "a township runs 1 or 3 nodes (replicas 2 refused)",
		},
		{
			name:     "village with 3 replicas",
			file:     "village.yaml",
			changes:  map[string]any{"replicas": 3},
			schema:   []string{"at '/replicas'", "1"},
			template: "a village runs 1 node (replicas 3 refused)",
		},
		{
			name:     "township code for the county",
			file:     "county.yaml",
			changes:  map[string]any{"officeCode": "110101001000"},
			schema:   []string{"at '/officeCode': '110101001000' does not match pattern '^[0-9]{6}000000$'", "at '/tier': value must be 'township'"},
			template: "does not match tier county: a county code ends in 000000",
		},
		{
			name:     "county code for a township",
			file:     "township.yaml",
			changes:  map[string]any{"officeCode": "110101000000"},
			schema:   []string{"at '/officeCode'", "at '/tier': value must be 'county'"},
			template: "does not match tier township: a township code ends in 000 but not in 000000",
		},
		{
			name:     "village code for a township",
			file:     "township.yaml",
			changes:  map[string]any{"officeCode": "110101001001"},
			schema:   []string{"at '/officeCode'", "at '/tier': value must be 'village'"},
			template: "does not match tier township",
		},
		{
			name:     "township code for a village",
			file:     "village.yaml",
			changes:  map[string]any{"officeCode": "110101001000"},
			schema:   []string{"at '/officeCode'", "at '/tier': value must be 'township'"},
			template: "does not match tier village: a village code does not end in 000",
		},
		{
			name:     "county code given as a number for a village",
			file:     "village.yaml",
			changes:  map[string]any{"officeCode": int64(110101000000)},
			schema:   []string{"at '/officeCode': got number, want string"},
			template: `officeCode "110101000000" does not match tier village`,
		},
		{
			name:     "township without upstream",
			file:     "township.yaml",
			changes:  map[string]any{"upstream": []any{}},
			schema:   []string{"at '/upstream'", "minItems"},
			template: "a township needs upstream",
		},
		{
			name:     "village without upstream",
			file:     "village.yaml",
			changes:  map[string]any{"upstream": remove{}},
			schema:   []string{"at '/upstream'"},
			template: "a village needs upstream",
		},
		{
			name:     "county with upstream",
			file:     "county.yaml",
			changes:  map[string]any{"upstream": []any{"elsewhere:7070"}},
			schema:   []string{"at '/upstream'", "maxItems"},
			template: "the county has no upstream",
		},
		{
			name:     "upstream without port",
			file:     "village.yaml",
			changes:  map[string]any{"upstream": []any{"chengguan-0.chengguan-peers"}},
			schema:   []string{"at '/upstream/0'"},
			template: `upstream entry "chengguan-0.chengguan-peers" is not host:port`,
		},
		{
			name:     "county without admin secret",
			file:     "county.yaml",
			changes:  map[string]any{"bootstrapAdmin.existingSecret": ""},
			schema:   []string{"at '/bootstrapAdmin/existingSecret'"},
			template: "the county needs bootstrapAdmin.existingSecret",
		},
		{
			name:     "admin secret for a village",
			file:     "village.yaml",
			changes:  map[string]any{"bootstrapAdmin.existingSecret": "admin"},
			schema:   []string{"at '/bootstrapAdmin/existingSecret'"},
			template: "bootstrapAdmin is for the county only",
		},
		{
			name:     "no TLS",
			file:     "village.yaml",
			changes:  map[string]any{"tls.existingSecret": ""},
			template: "TLS is required",
		},
		{
			name:     "cert-manager without issuer",
			file:     "township.yaml",
			changes:  map[string]any{"tls.certManager.issuerRef.name": ""},
			schema:   []string{"at '/tls/certManager/issuerRef/name'"},
			template: "tls.certManager.issuerRef.name is required",
		},
		{
			name:     "metrics port taken by http",
			file:     "village.yaml",
			changes:  map[string]any{"ports.metrics": 8080},
			template: "ports.metrics 8080 is also ports.http",
		},
		{
			name:    "misspelt value",
			file:    "village.yaml",
			changes: map[string]any{"replica": 1},
			schema:  []string{"additional properties 'replica' not allowed"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			release := strings.TrimSuffix(tc.file, ".yaml")
			if len(tc.schema) > 0 {
				_, err := render(t, release, withChanges(t, tc.file, tc.changes), false)
				if err == nil {
					t.Fatalf("rendered; want a schema error")
				}
				for _, want := range tc.schema {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("schema error does not contain %q:\n%v", want, err)
					}
				}
				t.Logf("schema error: %v", err)
			}
			if tc.template != "" {
				_, err := render(t, release, withChanges(t, tc.file, tc.changes), true)
				if err == nil {
					t.Fatalf("rendered without the schema; want the template to fail")
				}
				if !strings.Contains(err.Error(), tc.template) {
					t.Errorf("template error does not contain %q:\n%v", tc.template, err)
				}
			}
		})
	}
}

func TestValuesVariants(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		changes map[string]any
		check   func(t *testing.T, o *office)
	}{
		{
			name:    "single-node township has no PDB",
			file:    "township.yaml",
			changes: map[string]any{"replicas": 1},
			check: func(t *testing.T, o *office) {
				if o.pdb != nil {
					t.Errorf("PDB rendered for 1 replica")
				}
				if *o.sts.Spec.Replicas != 1 {
					t.Errorf("replicas %d", *o.sts.Spec.Replicas)
				}
				p := podOf(t, o.sts, 0)
				if _, boot := p.flag("bootstrap"); !boot {
					t.Errorf("the only pod does not bootstrap: %q", p.argv)
				}
			},
		},
		{
			name:    "county of 5",
			file:    "county.yaml",
			changes: map[string]any{"replicas": 5},
			check: func(t *testing.T, o *office) {
				if o.pdb == nil || o.pdb.Spec.MaxUnavailable.IntValue() != 1 {
					t.Errorf("PDB %+v, want maxUnavailable 1", o.pdb)
				}
				p := podOf(t, o.sts, 4)
				join, _ := p.flag("join")
				if n := len(strings.Split(join, ",")); n != 4 {
					t.Errorf("pod 4 joins %d peers (%q), want 4", n, join)
				}
			},
		},
		{
			name:    "county replicas default to 3",
			file:    "county.yaml",
			changes: map[string]any{"replicas": remove{}},
			check: func(t *testing.T, o *office) {
				if *o.sts.Spec.Replicas != 3 {
					t.Errorf("replicas %d, want 3", *o.sts.Spec.Replicas)
				}
			},
		},
		{
			name:    "pod 0 joins when raft.bootstrap is off",
			file:    "county.yaml",
			changes: map[string]any{"raft.bootstrap": false},
			check: func(t *testing.T, o *office) {
				p := podOf(t, o.sts, 0)
				join, joins := p.flag("join")
				if _, boot := p.flag("bootstrap"); boot || !joins || !strings.HasPrefix(join, "county-1.") {
					t.Errorf("pod 0 argv %q, want --join of pods 1 and 2", p.argv)
				}
			},
		},
		{
			name: "no persistence, no network policy, default storage class",
			file: "village.yaml",
			changes: map[string]any{
				"persistence.enabled":   false,
				"networkPolicy.enabled": false,
			},
			check: func(t *testing.T, o *office) {
				if len(o.sts.Spec.VolumeClaimTemplates) != 0 {
					t.Errorf("claim templates rendered")
				}
				v, ok := volume(o.sts.Spec.Template.Spec, "data")
				if !ok || v.EmptyDir == nil {
					t.Errorf("data volume %+v, want emptyDir", v)
				}
				if o.netpol != nil {
					t.Errorf("NetworkPolicy rendered")
				}
				if !strings.Contains(o.notes, "WARNING") {
					t.Errorf("NOTES do not warn about emptyDir")
				}
			},
		},
		{
			name: "no in-cluster clients",
			file: "village.yaml",
			changes: map[string]any{
				"networkPolicy.clients.namespaceSelector": nil,
				"networkPolicy.clients.cidrs":             []any{"192.0.2.0/24"},
				"networkPolicy.sameClusterFederation":     false,
				"networkPolicy.parent.cidrs":              []any{"198.51.100.7/32"},
			},
			check: func(t *testing.T, o *office) {
				self := "pods=app.kubernetes.io/instance=village,app.kubernetes.io/name=yizhan"
				want := map[string][]string{
					"raft":    {self},
					"peer":    {self, "cidr=198.51.100.7/32"},
					"http":    {self, "cidr=192.0.2.0/24"},
					"metrics": {self, "cidr=192.0.2.0/24"},
				}
				got := map[string][]string{}
				for _, rule := range o.netpol.Spec.Ingress {
					got[rule.Ports[0].Port.String()] = peerSummary(rule.From)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("ingress by port:\n got %q\nwant %q", got, want)
				}
			},
		},
		{
			name:    "metrics on the http port",
			file:    "county.yaml",
			changes: map[string]any{"ports.metrics": 0},
			check: func(t *testing.T, o *office) {
				p := podOf(t, o.sts, 0)
				if addr, ok := p.env["YIZHAN_METRICS_ADDR"]; ok {
					t.Errorf("YIZHAN_METRICS_ADDR=%q with ports.metrics 0", addr)
				}
				for _, cp := range o.sts.Spec.Template.Spec.Containers[0].Ports {
					if cp.Name == "metrics" {
						t.Errorf("container port metrics rendered")
					}
				}
				eps, _, _ := unstructured.NestedSlice(o.monitor.Object, "spec", "endpoints")
				if ep := eps[0].(map[string]any); ep["port"] != "http" {
					t.Errorf("ServiceMonitor scrapes port %v, want http", ep["port"])
				}
				got := map[string][]string{}
				for _, rule := range o.netpol.Spec.Ingress {
					got[rule.Ports[0].Port.String()] = peerSummary(rule.From)
				}
				wantHTTP := []string{"pods=app.kubernetes.io/instance=county,app.kubernetes.io/name=yizhan",
					"ns=kubernetes.io/metadata.name=ingress-nginx", "ns=kubernetes.io/metadata.name=monitoring"}
				if _, ok := got["metrics"]; ok || !reflect.DeepEqual(got["http"], wantHTTP) {
					t.Errorf("ingress by port %q, want no metrics rule and http from %q", got, wantHTTP)
				}
			},
		},
		{
			name:    "behind TLS",
			file:    "village.yaml",
			changes: map[string]any{"behindTLS": true},
			check: func(t *testing.T, o *office) {
				if got := podOf(t, o.sts, 0).env["YIZHAN_BEHIND_TLS"]; got != "true" {
					t.Errorf("YIZHAN_BEHIND_TLS=%q, want true", got)
				}
				if got, ok := podOf(t, o.sts, 0).env["YIZHAN_TRUSTED_PROXIES"]; ok {
					t.Errorf("YIZHAN_TRUSTED_PROXIES=%q with none given, want it unset (the node's default)", got)
				}
			},
		},
		{
			name:    "pods replaced only when deleted",
			file:    "village.yaml",
			changes: map[string]any{"updateStrategy": "OnDelete"},
			check: func(t *testing.T, o *office) {
				if got := o.sts.Spec.UpdateStrategy.Type; got != "OnDelete" {
					t.Errorf("updateStrategy %q, want OnDelete", got)
				}
			},
		},
		{
			name:    "behind TLS with its proxies",
			file:    "village.yaml",
			changes: map[string]any{"behindTLS": true, "trustedProxies": []any{"10.244.0.0/16", "10.0.0.7"}},
			check: func(t *testing.T, o *office) {
				if got := podOf(t, o.sts, 0).env["YIZHAN_TRUSTED_PROXIES"]; got != "10.244.0.0/16,10.0.0.7" {
					t.Errorf("YIZHAN_TRUSTED_PROXIES=%q, want the two ranges", got)
				}
			},
		},
		{
			name:    "storage class dash means no class",
			file:    "village.yaml",
			changes: map[string]any{"persistence.storageClass": "-"},
			check: func(t *testing.T, o *office) {
				sc := o.sts.Spec.VolumeClaimTemplates[0].Spec.StorageClassName
				if sc == nil || *sc != "" {
					t.Errorf("storageClassName %v, want \"\"", deref(sc))
				}
			},
		},
		{
			name:    "image tag and digest",
			file:    "village.yaml",
			changes: map[string]any{"image.tag": "1.2.3", "image.digest": "sha256:" + strings.Repeat("ab", 32)},
			check: func(t *testing.T, o *office) {
				want := "ghcr.io/yizhan-gov/yizhan:1.2.3@sha256:" + strings.Repeat("ab", 32)
				if got := o.sts.Spec.Template.Spec.Containers[0].Image; got != want {
					t.Errorf("image %q, want %q", got, want)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			release := strings.TrimSuffix(tc.file, ".yaml")
			rendered, err := render(t, release, withChanges(t, tc.file, tc.changes), false)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			tc.check(t, decodeOffice(t, rendered))
		})
	}
}

func TestDefaultImageIsAppVersion(t *testing.T) {
	c := loadChart(t)
	rendered, err := render(t, "dongcun", exampleValues(t, "village.yaml"), false)
	if err != nil {
		t.Fatal(err)
	}
	o := decodeOffice(t, rendered)
	want := "ghcr.io/yizhan-gov/yizhan:" + c.Metadata.AppVersion
	if got := o.sts.Spec.Template.Spec.Containers[0].Image; got != want {
		t.Errorf("image %q, want %q", got, want)
	}
}

func TestPodArgs(t *testing.T) {
	env := map[string]string{
		"POD_ORDINAL_ARGS_0":  "--bootstrap --bootstrap-admin-password-file=/p",
		"POD_ORDINAL_ARGS_1":  "--join=a:7070,c:7070",
		"POD_ORDINAL_ARGS_12": "--join=x:1",
	}
	tests := []struct {
		name    string
		pod     string
		args    []string
		want    []string
		wantErr string
	}{
		{name: "pod 0", pod: "county-0", args: []string{"yizhan", "node"}, want: []string{"yizhan", "node", "--bootstrap", "--bootstrap-admin-password-file=/p"}},
		{name: "pod 1", pod: "county-1", args: []string{"yizhan", "node"}, want: []string{"yizhan", "node", "--join=a:7070,c:7070"}},
		{name: "dashed release", pod: "my-county-12", args: []string{"yizhan", "node"}, want: []string{"yizhan", "node", "--join=x:1"}},
		{name: "ordinal beyond rendered replicas", pod: "county-3", args: []string{"yizhan"}, wantErr: "POD_ORDINAL_ARGS_3 is not set"},
		{name: "no ordinal", pod: "county", args: []string{"yizhan"}, wantErr: "does not end in -<ordinal>"},
		{name: "leading zero", pod: "county-01", args: []string{"yizhan"}, wantErr: "does not end in -<ordinal>"},
		{name: "no pod name", pod: "", args: []string{"yizhan"}, wantErr: "POD_NAME is not set"},
		{name: "no command", pod: "county-0", wantErr: "no command given"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) {
				if k == podargs.PodNameEnv {
					return tc.pod, tc.pod != ""
				}
				v, ok := env[k]
				return v, ok
			}
			got, err := podargs.Command(tc.args, lookup)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
