package mail

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/duty"
)

// logCounter counts the log records whose message contains what.
type logCounter struct {
	what string
	n    *atomic.Int32
}

func (h logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h logCounter) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.what) {
		h.n.Add(1)
	}
	return nil
}
func (h logCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h logCounter) WithGroup(string) slog.Handler      { return h }

// A village cut off from both its township and the county (its own
// uplink down: the usual reason its township is out of reach) keeps a
// signed first report for the township. The calls past the township to
// the county back off as the township's do, each failure a warning: not
// one at every pass of the mail loop (200 ms) for as long as the outage
// lasts.
func TestUrgentRecordsPastTheParentBackOff(t *testing.T) {
	ca := newCA(t)
	// A county address where nothing listens.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := lis.Addr().String()
	lis.Close()
	var past atomic.Int32
	vil := startOffice(t, ca, village, newRegistry(t, county, township, village), func(c *Config) {
		c.PastAfter = 200 * time.Millisecond
		c.Routes.PeerRoutes[county] = []string{dead}
		c.Logger = slog.New(logCounter{what: "could not send urgent records past", n: &past})
	})
	now := time.Now()
	r := &yizhanv1.UrgentReport{Id: duty.ReportID(village, now, "ZZZZZZ"), OfficeCode: village, Kind: yizhanv1.ReportKind_REPORT_KIND_FIRST,
		Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_NATURAL_DISASTER, Level: yizhanv1.IncidentLevel_INCIDENT_LEVEL_IV,
		Title: "滑坡", Place: "后山", Details: "冲毁农房", OccurredAt: timestamppb.New(now.Add(-10 * time.Minute)),
		WrittenAt: timestamppb.New(now), State: yizhanv1.ReportState_REPORT_STATE_DRAFT, Version: 1, Reporter: "duty"}
	for _, rep := range []*yizhanv1.UrgentReport{r, duty.Sign(r, "leader", "带班领导", now)} {
		if _, err := vil.owner.ProposeCase(context.Background(), &peerv1.CaseCommand{AtUnixNano: time.Now().UnixNano(),
			Op: &peerv1.CaseCommand_PutReport{PutReport: &peerv1.PutUrgentReport{Report: rep}}}); err != nil {
			t.Fatal(err)
		}
	}
	if !vil.queued(r.GetId()) {
		t.Fatal("the signed report is not queued for the township")
	}
	waitFor(t, "a first call past the township", func() bool { return past.Load() > 0 }, 10*time.Second)
	start := past.Load()
	time.Sleep(4 * time.Second) // the window measured, not a wait for a condition
	if n := past.Load() - start; n > 4 {
		t.Errorf("%d calls past the township to the county (each a warning) in 4 s of an outage: want them backing off (1 s, 2 s, 4 s, … a minute)", n)
	}
}
