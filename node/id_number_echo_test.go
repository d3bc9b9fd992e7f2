package node_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// An ID number refused for its birth date (characters 7–14) is named and
// said to be wrong, without the date: the error's message went into the
// English message and the field's description ("…, got 19991332"), and
// so into the logs of every client and proxy that logs refusals, a
// citizen's birth date in them.
func TestAnIDNumberRefusedForItsBirthDateDoesNotEchoIt(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.countyLeader()).login("admin", password)
	ctx := admin.ctx()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(admin.reg.CreateDepartment(ctx, &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "yc", Name: "县烟草专卖局"}}))
	must(admin.reg.CreateItem(ctx, &yizhanv1.CreateItemRequest{Item: tobacco()}))
	must(admin.reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: &yizhanv1.Grant{ItemCode: tobacco().Code, OfficeCode: county, Rights: allRights}}))
	must(admin.reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "clerk", Name: "陈静", OfficeCode: county,
		DepartmentCode: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}, Password: password}))
	clerk := dial(t, f.countyLeader()).login("clerk", password)

	for _, id := range []string{"450122199913321234", "450122202602301234", "450122000001011234"} {
		_, err := caseClient(t, clerk).FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{
			ItemCode:  tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: "韦小宝", IdNumber: id, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}},
		})
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != "applicant.id_number" || fieldReason(err) != registry.ReasonInvalidFormat {
			t.Errorf("%s: %v naming %q (%s); want INVALID_ARGUMENT naming applicant.id_number (INVALID_FORMAT)", id, code, field, fieldReason(err))
			continue
		}
		// Everything the client is told: the message and each detail
		// (the reason's metadata, the field's description and texts).
		told := prototext.Format(status.Convert(err).Proto())
		if !strings.Contains(told, "applicant.id_number") {
			t.Fatalf("the details are not read out: %s", told)
		}
		if birth := id[6:14]; strings.Contains(told, birth) {
			t.Errorf("%s: the refusal says the birth date %s:\n%s", id, birth, told)
		}
	}
}
