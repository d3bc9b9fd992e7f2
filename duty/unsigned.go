package duty

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A first report still a draft when its deadline passes (逾时未审签) is
// flagged by its office's sweep: the flag is a record of its own, carried
// up like the report would be, so the offices above know of the event
// while the leader on duty has not signed. It never changes; an office
// that comes to hold the report signed counts a late report (迟报)
// instead of an unsigned one.

const unsignedPrefix = "WQ-"

// UnsignedFlagID is the id of the flag of report id.
func UnsignedFlagID(report string) string { return unsignedPrefix + report }

// IsUnsignedFlagID reports whether s names an unsigned report's flag.
func IsUnsignedFlagID(s string) bool {
	return strings.HasPrefix(s, unsignedPrefix) && IsReportID(s[len(unsignedPrefix):])
}

// UnsignedFlag is the flag of draft first report r at now, and whether
// one is due: r is a first report, not signed, and its deadline is past.
func UnsignedFlag(r *yizhanv1.UrgentReport, now time.Time) (*yizhanv1.UnsignedReportFlag, bool) {
	due := Due(r)
	if due.IsZero() || r.GetState() != yizhanv1.ReportState_REPORT_STATE_DRAFT || !now.After(due) {
		return nil, false
	}
	return &yizhanv1.UnsignedReportFlag{
		Id: UnsignedFlagID(r.GetId()), ReportId: r.GetId(), OfficeCode: r.GetOfficeCode(),
		Category: r.GetCategory(), Level: r.GetLevel(), Title: r.GetTitle(),
		OccurredAt: r.GetOccurredAt(), Due: timestamppb.New(due), FlaggedAt: timestamppb.New(now),
		ReporterName: r.GetReporterName(), Contact: r.GetContact(),
	}, true
}

// CheckUnsignedFlag checks that f is a well-formed flag: it names its
// report and that report's office, and was raised after its deadline.
func CheckUnsignedFlag(f *yizhanv1.UnsignedReportFlag) error {
	switch {
	case f.GetId() != UnsignedFlagID(f.GetReportId()) || !IsReportID(f.GetReportId()):
		return fmt.Errorf("flag %s does not name its report", f.GetId())
	case ReportOffice(f.GetReportId()) != f.GetOfficeCode():
		return fmt.Errorf("flag %s: report %s is not of office %s", f.GetId(), f.GetReportId(), f.GetOfficeCode())
	case f.GetDue() == nil || f.GetFlaggedAt() == nil || !f.GetFlaggedAt().AsTime().After(f.GetDue().AsTime()):
		return fmt.Errorf("flag %s: not raised after the report's deadline", f.GetId())
	}
	return nil
}
