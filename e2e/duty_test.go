//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
)

// dutyDo calls the duty API and fails the test unless it answers 200.
func dutyDo(t testing.TB, a *api, method, path string, body any) map[string]any {
	t.Helper()
	code, resp, err := a.call(method, path, body)
	if err != nil || code != http.StatusOK {
		t.Fatalf("%s %s: %d %v %v", method, path, code, resp, err)
	}
	return resp
}

// dutyStaff adds a duty officer and a leader on duty at 东村 and a duty
// officer at the county, and signs them in.
func dutyStaff(t testing.TB, c *cluster, admin *api) (officer, leader, county *api) {
	t.Helper()
	var idx uint64
	for _, s := range []map[string]any{
		{"username": "dc-duty", "name": "黄值班", "office_code": villageCode, "roles": []string{"ROLE_DUTY_OFFICER"}},
		{"username": "dc-leader", "name": "黄带班", "office_code": villageCode, "roles": []string{"ROLE_DUTY_LEADER"}},
		{"username": "county-duty", "name": "陈值班", "office_code": countyCode, "roles": []string{"ROLE_DUTY_OFFICER"}},
	} {
		idx = admin.write("/v1/staff", map[string]any{"staff": s, "password": adminPassword})
	}
	c.api("dongcun-1").getAt("/v1/offices/"+villageCode, idx, syncTimeout)
	return c.api("dongcun-1").login("dc-duty", adminPassword), c.api("dongcun-1").login("dc-leader", adminPassword),
		c.api("county-1").login("county-duty", adminPassword)
}

// An urgent report written and signed at a village, its follow-up and its
// final report, all reach the county with their chain; the county
// acknowledges the first, and the village sees the acknowledgement.
func TestUrgentReportAcrossTheTiers(t *testing.T) {
	c, admin := newCaseCluster(t, 1)
	officer, leader, county := dutyStaff(t, c, admin)

	occurred := time.Now().Add(-20 * time.Minute).UTC().Format(time.RFC3339)
	report := func(kind, first string) map[string]any {
		return map[string]any{"report": map[string]any{"kind": kind, "first_id": first, "category": "INCIDENT_CATEGORY_ACCIDENT",
			"level": "INCIDENT_LEVEL_IV", "title": "村道货车侧翻", "place": "东村村道二组路段", "occurred_at": occurred,
			"details": "一辆货车侧翻，司机轻伤", "measures": "已拉警戒，通知交警"}}
	}
	// Bad input names its field.
	bad := report("REPORT_KIND_FIRST", "")
	bad["report"].(map[string]any)["place"] = ""
	if code, body, err := officer.call("POST", "/v1/duty/reports", bad); err != nil || code != http.StatusBadRequest || fmt.Sprint(caseViolatedFields(body)) != "[report.place]" {
		t.Errorf("a report without a place: %d %v %v", code, body, err)
	}
	var ids []string
	for _, kind := range []string{"REPORT_KIND_FIRST", "REPORT_KIND_FOLLOW_UP", "REPORT_KIND_FINAL"} {
		first := ""
		if len(ids) > 0 {
			first = ids[0]
		}
		w := dutyDo(t, officer, "POST", "/v1/duty/reports", report(kind, first))
		id, _ := w["report"].(map[string]any)["id"].(string)
		if code, _, _ := officer.call("POST", "/v1/duty/reports/"+id+":sign", map[string]any{}); code != http.StatusForbidden {
			t.Errorf("a duty officer signed: %d", code)
		}
		s := dutyDo(t, leader, "POST", "/v1/duty/reports/"+id+":sign", map[string]any{})
		if s["report"].(map[string]any)["state"] != "REPORT_STATE_SIGNED" {
			t.Fatalf("signed: %v", s)
		}
		ids = append(ids, id)
	}

	deadline := time.Now().Add(syncTimeout)
	var reports []any
	for {
		_, body, _ := county.call("GET", "/v1/duty/reports?office_code="+villageCode+"&first_id="+ids[0], nil)
		reports, _ = body["reports"].([]any)
		if len(reports) == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(reports) != 3 {
		t.Fatalf("the county holds %d reports of the matter, want 3", len(reports))
	}
	first := reports[0].(map[string]any)
	if first["closed"] != true || first["late"] == true || first["report"].(map[string]any)["signature"] == nil {
		t.Errorf("the first report at the county: %v", first)
	}
	dutyDo(t, county, "POST", "/v1/duty/reports/"+ids[0]+":acknowledge", map[string]any{"request": "请续报道路恢复情况"})
	got := dutyDo(t, officer, "GET", "/v1/duty/reports/"+ids[0], nil)
	acks, _ := got["acks"].([]any)
	if len(acks) != 1 || acks[0].(map[string]any)["office_code"] != countyCode {
		t.Errorf("the village sees acknowledgements %v, want the county's", got["acks"])
	}
}

// BenchmarkUrgentReportToCounty measures, on the built binary over
// loopback (county, township, village: one node each), the time from the
// leader's signing at the village (the answer to :sign) until the county
// holds the report (its GET answers it; polled every 2 ms), for
// YIZHAN_BENCH_REPORTS reports (default 200) one after another.
func BenchmarkUrgentReportToCounty(b *testing.B) {
	n := benchEnv(b, "YIZHAN_BENCH_REPORTS", 200)
	c, admin := newCaseCluster(b, 1)
	officer, leader, county := dutyStaff(b, c, admin)
	body := map[string]any{"report": map[string]any{"kind": "REPORT_KIND_FIRST", "category": "INCIDENT_CATEGORY_ACCIDENT",
		"level": "INCIDENT_LEVEL_IV", "title": "测试", "place": "东村", "details": "测试上报时间",
		"occurred_at": time.Now().UTC().Format(time.RFC3339)}}
	b.ResetTimer()
	for range b.N {
		lat := make([]time.Duration, 0, n)
		for range n {
			w := dutyDo(b, officer, "POST", "/v1/duty/reports", body)
			id, _ := w["report"].(map[string]any)["id"].(string)
			dutyDo(b, leader, "POST", "/v1/duty/reports/"+id+":sign", map[string]any{})
			signed := time.Now()
			for {
				code, _, err := county.call("GET", "/v1/duty/reports/"+id, nil)
				if err == nil && code == http.StatusOK {
					break
				}
				if time.Since(signed) > syncTimeout {
					b.Fatalf("report %s not at the county after %s", id, syncTimeout)
				}
				time.Sleep(2 * time.Millisecond)
			}
			lat = append(lat, time.Since(signed))
		}
		slices.Sort(lat)
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
		b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
		b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
		b.Logf("%d reports village → township → county: p50 %s, p99 %s, max %s", n, lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
	}
}
