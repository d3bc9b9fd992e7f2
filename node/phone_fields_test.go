package node_test

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// A report's contact and a shift's duty phone are phone numbers, checked
// as an applicant's phone and a question's contact are: a mobile number
// or a landline with its area code. They were kept as any text (值班室,
// 12345), which nobody could call back.
func TestReportContactAndDutyPhoneAreCheckedAsPhones(t *testing.T) {
	f, admin, _ := countyDuty(t, false)
	officer := dial(t, f.countyLeader()).login("county-duty", password)
	duty := yizhanv1.NewDutyServiceClient(officer.conn)
	roster := yizhanv1.NewDutyRosterServiceClient(admin.conn)
	report := func(contact string) error {
		r := firstReport(time.Now().Add(-30 * time.Minute))
		r.Contact = contact
		_, err := duty.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: r})
		return err
	}
	start := time.Now().Truncate(time.Minute).Add(6 * time.Hour)
	shift := func(phone string) error {
		_, err := roster.PublishShifts(admin.ctx(), &yizhanv1.PublishShiftsRequest{Shifts: []*yizhanv1.DutyShift{{Start: timestamppb.New(start),
			End: timestamppb.New(start.Add(12 * time.Hour)), Leader: "county-leader", Officers: []string{"county-duty"}, DutyPhone: phone}}})
		start = start.Add(24 * time.Hour)
		return err
	}
	for _, tc := range []struct {
		name, field, why string
		call             func() error
	}{
		{"a report's contact of five digits", "report.contact", reason.InvalidFormat, func() error { return report("12345") }},
		{"a report's contact that is a mobile number too short", "report.contact", reason.InvalidFormat, func() error { return report("1390771000") }},
		{"a shift's duty phone that is a room", "shifts[0].duty_phone", reason.InvalidFormat, func() error { return shift("值班室") }},
		{"a shift's duty phone without its area code", "shifts[0].duty_phone", reason.InvalidFormat, func() error { return shift("6201110") }},
	} {
		err := tc.call()
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != tc.field || fieldReason(err) != tc.why {
			t.Errorf("%s: %v naming %q (%s); want INVALID_ARGUMENT naming %s (%s)", tc.name, code, field, fieldReason(err), tc.field, tc.why)
		}
	}
	for name, call := range map[string]func() error{
		"a report with a mobile number":     func() error { return report("13907710003") },
		"a report with a landline":          func() error { return report("0771-6201110") },
		"a report with no contact":          func() error { return report("") },
		"a shift with a landline":           func() error { return shift("0771-6201110") },
		"a shift with a mobile number":      func() error { return shift("13907710003") },
		"a shift with no duty phone (none)": func() error { return shift("") },
	} {
		if err := call(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The numbers the public or a duty officer calls — an office's, a
// department's, a duty contact's, a caller's in the duty log — are
// checked as numbers to call: a mobile, a landline (with its area code
// or, locally, without), a service number (95598, 12345) or a 400/800
// number. They were kept as any text (值班室, 电话见公示栏).
func TestContactPhonesAreNumbersToCall(t *testing.T) {
	_, admin, officer := countyDuty(t, true)
	roster := yizhanv1.NewDutyRosterServiceClient(officer.conn)
	office := func(phone string) error {
		_, err := admin.reg.UpdateOffice(admin.ctx(), &yizhanv1.UpdateOfficeRequest{Code: county, Office: &yizhanv1.Office{Name: "县政务服务中心", Phone: phone}})
		return err
	}
	department := func(phone string) error {
		_, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{
			Code: fmt.Sprintf("d%d", time.Now().UnixNano()%1e9), Name: "县供电公司", Phone: phone}})
		return err
	}
	policy := func(phone string) error {
		_, err := admin.reg.PutDutyPolicy(admin.ctx(), &yizhanv1.PutDutyPolicyRequest{Policy: &yizhanv1.DutyPolicy{
			Contacts: []*yizhanv1.DutyContact{{Name: "供水", Phone: "0771-6220088"}, {Name: "供电", Phone: phone}}}})
		return err
	}
	logEntry := func(phone string) error {
		_, err := roster.WriteLogEntry(officer.ctx(), &yizhanv1.WriteLogEntryRequest{Entry: &yizhanv1.DutyLogEntry{
			Kind: yizhanv1.LogKind_LOG_KIND_CALL, Caller: "李村民", Phone: phone, PhoneWithheld: phone == "", Matter: "报告路面积水"}})
		return err
	}
	for _, tc := range []struct {
		name, field string
		call        func() error
	}{
		{"an office's phone that is a room", "office.phone", func() error { return office("值班室") }},
		{"a department's phone in words", "department.phone", func() error { return department("电话见公示栏") }},
		{"a duty contact's phone of two digits", "policy.contacts[1].phone", func() error { return policy("95") }},
		{"a caller's phone with letters", "entry.phone", func() error { return logEntry("0771-62O1001") }},
	} {
		err := tc.call()
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != tc.field || fieldReason(err) != reason.InvalidFormat {
			t.Errorf("%s: %v naming %q (%s); want INVALID_ARGUMENT naming %s (%s)", tc.name, code, field, fieldReason(err), tc.field, reason.InvalidFormat)
		}
	}
	for name, call := range map[string]func() error{
		"an office's landline":                func() error { return office("0771-6201001") },
		"an office's local number":            func() error { return office("6201001") },
		"an office with no phone":             func() error { return office("") },
		"a department's 400 number":           func() error { return department("400-123-4567") },
		"a duty contact's service number":     func() error { return policy("95598") },
		"a caller's mobile number":            func() error { return logEntry("13907710003") },
		"a caller whose number was not shown": func() error { return logEntry("") },
		"a caller's local number (caller ID)": func() error { return logEntry("6201001") },
	} {
		if err := call(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
