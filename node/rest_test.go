package node_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// restCall makes a REST call and decodes the JSON answer.
func restCall(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, v
}

// violatedFields lists the fields of a google.rpc.BadRequest detail.
func violatedFields(body map[string]any) []string {
	var out []string
	details, _ := body["details"].([]any)
	for _, d := range details {
		dm, _ := d.(map[string]any)
		fvs, _ := dm["field_violations"].([]any)
		if fvs == nil {
			fvs, _ = dm["fieldViolations"].([]any)
		}
		for _, fv := range fvs {
			if m, ok := fv.(map[string]any); ok {
				out = append(out, m["field"].(string))
			}
		}
	}
	return out
}

func TestRESTRegistryWritesAndErrors(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	n := f.nodes["county-1"]
	admin := dial(t, n).login("admin", password)
	base := "http://" + n.HTTPAddr()
	tok := admin.token

	// A clerk of the county is not an admin.
	code, body := restCall(t, "POST", base+"/v1/staff", tok,
		`{"staff":{"username":"chenjing","name":"陈静","office_code":"450122000000","roles":["ROLE_CLERK"]},"password":"window-clerk-1"}`)
	if code != http.StatusOK {
		t.Fatalf("create staff: %d %v", code, body)
	}
	code, body = restCall(t, "POST", base+"/v1/auth/login", "", `{"username":"chenjing","password":"window-clerk-1"}`)
	if code != http.StatusOK {
		t.Fatalf("clerk login: %d %v", code, body)
	}
	clerk := body["token"].(string)

	tests := []struct {
		name      string
		method    string
		path      string
		token     string
		body      string
		wantCode  int
		wantField string
	}{
		{"no token", "POST", "/v1/departments", "", `{"code":"yc","name":"县烟草专卖局"}`, 401, ""},
		{"clerk is not admin", "POST", "/v1/departments", clerk, `{"code":"yc","name":"县烟草专卖局"}`, 403, ""},
		{"department ok", "POST", "/v1/departments", tok, `{"code":"yc","name":"县烟草专卖局"}`, 200, ""},
		{"duplicate department", "POST", "/v1/departments", tok, `{"code":"yc","name":"again"}`, 409, ""},
		{"empty department name", "POST", "/v1/departments", tok, `{"code":"mz","name":""}`, 400, "department.name"},
		{"malformed office code", "POST", "/v1/offices", tok, `{"code":"4501221","name":"x"}`, 400, "office.code"},
		{"orphan village", "POST", "/v1/offices", tok, `{"code":"450122999203","name":"孤村"}`, 400, ""},
		{"promised above statutory", "POST", "/v1/items", tok,
			`{"code":"YC-9","name":"烟草","type":"ITEM_TYPE_LICENCE","department_code":"yc","statutory_limit_days":10,"promised_limit_days":20,"case_kind":"CASE_KIND_PROMISED","exercise_tier":"TIER_COUNTY"}`,
			400, "item.promised_limit_days"},
		{"unknown department", "POST", "/v1/items", tok,
			`{"code":"YC-9","name":"烟草","type":"ITEM_TYPE_LICENCE","department_code":"nope","statutory_limit_days":20,"promised_limit_days":10,"case_kind":"CASE_KIND_PROMISED","exercise_tier":"TIER_COUNTY"}`,
			400, "item.department_code"},
		{"item ok", "POST", "/v1/items", tok,
			`{"code":"YC-1","name":"烟草专卖零售许可证核发","type":"ITEM_TYPE_LICENCE","department_code":"yc","legal_basis":"《中华人民共和国烟草专卖法》第十六条","statutory_limit_days":20,"promised_limit_days":10,"case_kind":"CASE_KIND_PROMISED","exercise_tier":"TIER_COUNTY"}`,
			200, ""},
		{"grant for unknown item", "POST", "/v1/grants", tok, `{"item_code":"NOPE","office_code":"450122000000","rights":["RIGHT_ACCEPT"]}`, 400, "grant.item_code"},
		{"grant for unknown office", "POST", "/v1/grants", tok, `{"item_code":"YC-1","office_code":"450122101000","rights":["RIGHT_ACCEPT"]}`, 400, "grant.office_code"},
		{"calendar bad year", "GET", "/v1/calendar/1999", "", "", 400, "year"},
		{"unknown item", "GET", "/v1/items/NOPE", "", "", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := n.Registry().Index()
			code, body := restCall(t, tt.method, base+tt.path, tt.token, tt.body)
			if code != tt.wantCode {
				t.Fatalf("%s %s: %d %v, want %d", tt.method, tt.path, code, body, tt.wantCode)
			}
			if tt.wantField != "" {
				fields := violatedFields(body)
				found := false
				for _, f := range fields {
					found = found || f == tt.wantField
				}
				if !found {
					t.Errorf("violations %v do not name %s (body %v)", fields, tt.wantField, body)
				}
			}
			if code != 200 {
				// The nodes' own writes (directory, keys) may land meanwhile.
				entries, _ := n.Registry().ChangelogSince(before, 0)
				for _, e := range entries {
					if a := e.GetCommand().GetActor(); !strings.HasPrefix(a, "node:") {
						t.Errorf("a refused request changed the registry: entry %d by %s", e.GetIndex(), a)
					}
				}
			}
		})
	}

	// An edit says why (修改说明), and makes a new version; the old one
	// stays readable.
	code, body = restCall(t, "PATCH", base+"/v1/items/YC-1", tok, `{"promised_limit_days":8}`)
	if code != 400 || !strings.Contains(toJSON(body), "item.change_note") {
		t.Errorf("an edit without its reason: %d %v", code, body)
	}
	code, body = restCall(t, "PATCH", base+"/v1/items/YC-1", tok, `{"promised_limit_days":8,"change_note":"县政府提速文件"}`)
	if code != 200 {
		t.Fatalf("patch item: %d %v", code, body)
	}
	if v := body["item"].(map[string]any)["version"]; v != float64(2) {
		t.Errorf("version after edit = %v", v)
	}
	_, body = restCall(t, "GET", base+"/v1/items/YC-1/versions", "", "")
	vs := body["versions"].([]any)
	if len(vs) != 2 || vs[0].(map[string]any)["promised_limit_days"] != float64(10) || vs[1].(map[string]any)["promised_limit_days"] != float64(8) {
		t.Errorf("versions = %v", vs)
	}
	code, body = restCall(t, "PATCH", base+"/v1/items/YC-1", tok, `{"promised_limit_days":30}`)
	if code != 400 {
		t.Errorf("patch promised above statutory: %d %v", code, body)
	}

	// The official calendar: National Day 2025.
	_, body = restCall(t, "GET", base+"/v1/calendar/2025", "", "")
	cal := body["calendar"].(map[string]any)
	if cal["source"] != "official" || !strings.Contains(toJSON(cal["days"]), "2025-10-01") {
		t.Errorf("calendar 2025 = %v", cal)
	}
	// OpenAPI, health, metrics.
	for _, p := range []string{"/openapi.json", "/healthz", "/readyz"} {
		if code, _ := restCall(t, "GET", base+p, "", ""); code != 200 {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"yizhan_raft_leader", "yizhan_registry_index", "yizhan_registry_lag", "yizhan_request_duration_seconds",
		"yizhan_badger_lsm_bytes", "yizhan_badger_vlog_bytes", "yizhan_badger_table_index_bytes", "yizhan_badger_block_cache_hits_total", "yizhan_badger_block_cache_misses_total",
		"yizhan_badger_memtable_written_bytes_total"} {
		if !strings.Contains(string(mb), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
