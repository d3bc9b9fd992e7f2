package node_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Every listing takes a page_size above its maximum as the maximum
// (AIP-158) and refuses a negative one, naming page_size: the
// consultations and the urgent reports refused a size over 1,000 (and
// the audit trail one over 500) that the other listings took, so a
// client that asked every listing for 5,000 was refused by three.
func TestEveryListingTakesAPageSizeAboveItsMaximum(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.countyLeader()).login("admin", password)
	ctx := admin.ctx()
	if _, err := admin.reg.CreateDepartment(ctx, &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "yc", Name: "县烟草专卖局"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.reg.CreateItem(ctx, &yizhanv1.CreateItemRequest{Item: tobacco()}); err != nil {
		t.Fatal(err)
	}
	sup := yizhanv1.NewSupervisionServiceClient(admin.conn)
	if _, err := sup.RecordConsultation(ctx, &yizhanv1.RecordConsultationRequest{Channel: yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE,
		Question: "烟草证要什么材料?", Answer: "申请表和身份证。"}); err != nil {
		t.Fatal(err)
	}
	cases := yizhanv1.NewCaseServiceClient(admin.conn)
	duty := yizhanv1.NewDutyServiceClient(admin.conn)
	for _, tc := range []struct {
		name string
		list func(size int32) (int, error) // how many it listed
	}{
		{"ListCases", func(n int32) (int, error) {
			r, err := cases.ListCases(ctx, &yizhanv1.ListCasesRequest{PageSize: n})
			return len(r.GetCases()), err
		}},
		{"ListItems", func(n int32) (int, error) {
			r, err := admin.reg.ListItems(ctx, &yizhanv1.ListItemsRequest{PageSize: n})
			return len(r.GetItems()), err
		}},
		{"ListItemVersions", func(n int32) (int, error) {
			r, err := admin.reg.ListItemVersions(ctx, &yizhanv1.ListItemVersionsRequest{Code: tobacco().Code, PageSize: n})
			return len(r.GetVersions()), err
		}},
		{"ListGrants", func(n int32) (int, error) {
			r, err := admin.reg.ListGrants(ctx, &yizhanv1.ListGrantsRequest{PageSize: n})
			return len(r.GetGrants()), err
		}},
		{"ListRegistryChanges", func(n int32) (int, error) {
			r, err := admin.reg.ListRegistryChanges(ctx, &yizhanv1.ListRegistryChangesRequest{PageSize: n})
			return len(r.GetChanges()), err
		}},
		{"ListCards", func(n int32) (int, error) {
			r, err := sup.ListCards(ctx, &yizhanv1.ListCardsRequest{PageSize: n})
			return len(r.GetCards()), err
		}},
		{"ListConsultations", func(n int32) (int, error) {
			r, err := sup.ListConsultations(ctx, &yizhanv1.ListConsultationsRequest{PageSize: n})
			return len(r.GetConsultations()), err
		}},
		{"ListReports", func(n int32) (int, error) {
			r, err := duty.ListReports(ctx, &yizhanv1.ListReportsRequest{PageSize: n})
			return len(r.GetReports()), err
		}},
	} {
		whole, err := tc.list(0)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got, err := tc.list(5000); err != nil || got != whole {
			t.Errorf("%s with page_size 5000: %d listed, %v; want the %d of the default page", tc.name, got, status.Convert(err).Message(), whole)
		}
		_, err = tc.list(-1)
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != "page_size" {
			t.Errorf("%s with page_size -1: %v naming %q; want INVALID_ARGUMENT naming page_size", tc.name, code, field)
		}
	}
}
