package node

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/supervision"
)

// The county's records in the figures of an office below it.
//
// Follow-ups of complaints and bad ratings and supervision orders are
// kept in the county's book alone (casebook/records.go), and so are
// their counters and the cards they earn (supervision.IsCountyRecord).
// A node below the county holds none of them: it asks the offices above
// for the figures of the same request and adds those counters, and only
// those, to its own (its book counts the case counters itself: taking
// them too would count them twice). The office above that answers does
// the same in turn, so the answer holds the county's records, or says it
// could not (county_records_missing).

// countyRecordsWait bounds the ask: the 监察 page reads the figures
// twice, and a node cut off from the offices above answers with its own
// figures and the notice, not after the caller's whole deadline.
var countyRecordsWait = 4 * time.Second

// countyRecords asks the offices above for the figures of req (its
// office, range and grouping resolved) and returns the county's record
// counters by this node's group keys (those of GetStatistics' SumStats:
// "*" for the total alone, the period "dYYYYMMDD" by day).
func (s *supervisionService) countyRecords(ctx context.Context, req *yizhanv1.GetStatisticsRequest) (map[string]supervision.Counters, error) {
	ctx, cancel := context.WithTimeout(ctx, countyRecordsWait)
	defer cancel()
	var st *yizhanv1.Statistics
	err := s.n.office.ReadUp(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
		var err error
		st, err = yizhanv1.NewSupervisionServiceClient(conn).GetStatistics(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	if st.GetCountyRecordsMissing() || !st.GetCountyRecordsIncluded() {
		return nil, errCountyRecordsMissing // or a node of a release before them answered
	}
	out := map[string]supervision.Counters{}
	add := func(k string, f *yizhanv1.Figures) {
		if c := supervision.CountyRecordCounters(f); len(c) > 0 {
			out[k] = c
		}
	}
	if req.GetGroupBy() == yizhanv1.Grouping_GROUPING_UNSPECIFIED {
		add("*", st.GetTotal())
		return out, nil
	}
	for _, r := range st.GetRows() {
		k := r.GetKey()
		if req.GetGroupBy() == yizhanv1.Grouping_GROUPING_DAY {
			k = "d" + strings.ReplaceAll(k, "-", "") // 2026-03-02: the period d20260302
		}
		add(k, r.GetFigures())
	}
	return out, nil
}

// errCountyRecordsMissing: the office above answered, without the
// county's records (it could not reach the county either, or it runs a
// release that knows nothing of them).
var errCountyRecordsMissing = errors.New("node: the office above answered without the county's records")

// addCountyRecords adds the county's record counters to groups, the
// figures' counters by group key, and reports whether it could: false
// when the county was not reached (the figures then say so).
func (s *supervisionService) addCountyRecords(ctx context.Context, req *yizhanv1.GetStatisticsRequest, groups map[string]supervision.Counters) bool {
	if s.n.office.IsCounty() {
		return true // its own book holds them
	}
	recs, err := s.countyRecords(ctx, req)
	if err != nil {
		level := slog.LevelDebug
		if now, last := time.Now().UnixNano(), s.countyMissedAt.Load(); now-last >= int64(time.Minute) && s.countyMissedAt.CompareAndSwap(last, now) {
			level = slog.LevelWarn
		}
		s.n.log.Log(ctx, level, "supervision: the county's records are left out of the figures (said once a minute)", "statistics_office", req.GetOfficeCode(), "err", err)
		return false
	}
	for k, c := range recs {
		g := groups[k]
		if g == nil {
			g = supervision.Counters{}
			groups[k] = g
		}
		for outcome, n := range c {
			g[outcome] = n // never counted here (IsCountyRecord): taken, not added to
		}
	}
	return true
}
