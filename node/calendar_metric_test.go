package node_test

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/registry"
)

// A year nobody has set (neither the release's official data nor a
// county calendar) counts Monday to Friday through its Spring Festival;
// only the admin's calendar page said so. Every node's metrics tell the
// days left before it, for an alert.
func TestTheMetricsTellTheDaysOfKnownWorkingDays(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	n := f.countyLeader()
	resp, err := http.Get("http://" + n.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`(?m)^yizhan_calendar_known_days\{[^}]*\} (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatal("the metrics lack yizhan_calendar_known_days")
	}
	got, err := strconv.ParseFloat(string(m[1]), 64)
	now := time.Now()
	want := n.Registry().CalendarKnownUntil(now).Sub(now).Hours() / 24
	if err != nil || got < want-1 || got > want+1 || want <= 0 {
		t.Errorf("yizhan_calendar_known_days %s, want about %.1f (to %s)", m[1], want, n.Registry().CalendarKnownUntil(now).In(registry.CST).Format(time.DateOnly))
	}
}
