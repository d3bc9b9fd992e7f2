package node_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// A page token goes on with the query that gave it out: the same
// filters, whatever the page size. Given with other filters (another
// office, state, item, date range, kind...) it is refused, naming
// page_token ("belongs to another query", INVALID_FORMAT PAGE_TOKEN),
// over gRPC and REST: it was taken as a position in the other listing,
// whose pages then skipped or repeated records.
func TestAPageTokenGoesOnOnlyWithTheQueryThatGaveItOut(t *testing.T) {
	f := dutyFed(t, nil)
	countyNode := f.nodes["county-1"]
	admin := f.admin
	ctx := admin.ctx()
	sup := yizhanv1.NewSupervisionServiceClient(admin.conn)
	duty := yizhanv1.NewDutyServiceClient(admin.conn)
	officer := dial(t, countyNode).login("county-duty", password)
	clerk := dial(t, countyNode).login("clerk", password)
	cases := caseClient(t, admin)
	for i := range 3 {
		if _, err := sup.RecordConsultation(ctx, &yizhanv1.RecordConsultationRequest{Channel: yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE,
			Question: fmt.Sprintf("第 %d 个问题", i+1), Answer: "已答复。"}); err != nil {
			t.Fatal(err)
		}
		r := firstReport(time.Now().Add(-time.Duration(30+i) * time.Minute))
		if _, err := yizhanv1.NewDutyServiceClient(officer.conn).WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: r}); err != nil {
			t.Fatal(err)
		}
		fileTobacco(t, clerk, "韦丽")
	}
	other := tobacco()
	other.Code, other.Name = "450122-YC-002", "烟草专卖零售许可证延续"
	if _, err := admin.reg.CreateItem(ctx, &yizhanv1.CreateItemRequest{Item: other}); err != nil {
		t.Fatal(err)
	}
	for _, notes := range []string{"一", "二"} {
		it := tobacco()
		it.Materials[0].Notes, it.ChangeNote = notes, "依据县政府文件修改"
		if _, err := admin.reg.UpdateItem(ctx, &yizhanv1.UpdateItemRequest{Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	today := time.Now().In(registry.CST).Format("2006-01-02")
	dayStart, _ := time.ParseInLocation("2006-01-02", today, registry.CST)

	// Each listing's first page of one, its token, and the next page
	// asked for with the same filters (a larger page), then with others.
	type listing struct {
		name   string
		list   func(size int32, token string, other bool) (string, error)
		others string // what the other query changes
	}
	listings := []listing{
		{"cases", func(size int32, token string, o bool) (string, error) {
			req := &yizhanv1.ListCasesRequest{History: true, PageSize: size, PageToken: token}
			if o {
				req.State = yizhanv1.CaseState_CASE_STATE_FILED
			}
			r, err := cases.ListCases(ctx, req)
			return r.GetNextPageToken(), err
		}, "state"},
		{"cases filed from today", func(size int32, token string, o bool) (string, error) {
			req := &yizhanv1.ListCasesRequest{FiledFrom: timestamppb.New(dayStart), PageSize: size, PageToken: token}
			if o {
				req.FiledFrom = timestamppb.New(dayStart.Add(time.Minute))
			}
			r, err := cases.ListCases(ctx, req)
			return r.GetNextPageToken(), err
		}, "date range"},
		{"the queue", func(size int32, token string, o bool) (string, error) {
			req := &yizhanv1.ListCasesRequest{PageSize: size, PageToken: token}
			if o {
				req.OfficeCode = dongcun
			}
			r, err := cases.ListCases(ctx, req)
			return r.GetNextPageToken(), err
		}, "office"},
		{"an applicant's cases", func(size int32, token string, o bool) (string, error) {
			req := &yizhanv1.ListCasesRequest{Applicant: applicantID, PageSize: size, PageToken: token}
			if o {
				req.ItemCode = other.Code
			}
			r, err := cases.ListCases(ctx, req)
			return r.GetNextPageToken(), err
		}, "item"},
		{"reports", func(size int32, token string, o bool) (string, error) {
			req := &yizhanv1.ListReportsRequest{PageSize: size, PageToken: token}
			if o {
				req.State = yizhanv1.ReportState_REPORT_STATE_DRAFT
			}
			r, err := duty.ListReports(ctx, req)
			return r.GetNextPageToken(), err
		}, "state"},
		{"consultations", func(size int32, token string, o bool) (string, error) {
			req := &yizhanv1.ListConsultationsRequest{PageSize: size, PageToken: token}
			if o {
				req.From = today
			}
			r, err := sup.ListConsultations(ctx, req)
			return r.GetNextPageToken(), err
		}, "date range"},
		{"items", func(size int32, token string, o bool) (string, error) {
			req := &yizhanv1.ListItemsRequest{PageSize: size, PageToken: token}
			if o {
				req.Query = "烟草"
			}
			r, err := admin.reg.ListItems(ctx, req)
			return r.GetNextPageToken(), err
		}, "query"},
		{"item versions", func(size int32, token string, o bool) (string, error) {
			req := &yizhanv1.ListItemVersionsRequest{Code: tobacco().Code, PageSize: size, PageToken: token}
			if o {
				req.Code = other.Code
			}
			r, err := admin.reg.ListItemVersions(ctx, req)
			return r.GetNextPageToken(), err
		}, "item"},
		{"grants", func(size int32, token string, o bool) (string, error) {
			req := &yizhanv1.ListGrantsRequest{PageSize: size, PageToken: token}
			if o {
				req.OfficeCode = county
			}
			r, err := admin.reg.ListGrants(ctx, req)
			return r.GetNextPageToken(), err
		}, "office"},
		{"registry changes", func(size int32, token string, o bool) (string, error) {
			req := &yizhanv1.ListRegistryChangesRequest{PageSize: size, PageToken: token}
			if o {
				req.Kind = "staff"
			}
			r, err := admin.reg.ListRegistryChanges(ctx, req)
			return r.GetNextPageToken(), err
		}, "kind"},
	}
	tokens := map[string]string{}
	for _, l := range listings {
		token, err := l.list(1, "", false)
		if err != nil || token == "" {
			t.Errorf("%s: the first page's token %q, %v", l.name, token, err)
			continue
		}
		tokens[l.name] = token
		if _, err := l.list(2, token, false); err != nil {
			t.Errorf("%s: the next page, the same filters, two a page: %v", l.name, err)
		}
		_, err = l.list(1, token, true)
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != "page_token" || fieldReason(err) != registry.ReasonInvalidFormat ||
			!strings.Contains(firstViolation(err).GetDescription(), "belongs to another query") {
			t.Errorf("%s: the token with another %s: %v naming %q (%s) %q; want INVALID_ARGUMENT naming page_token, belonging to another query",
				l.name, l.others, code, field, fieldReason(err), firstViolation(err).GetDescription())
		}
	}
	// A listing's token given to another listing, the cards' among them.
	_, err := sup.ListCards(ctx, &yizhanv1.ListCardsRequest{PageToken: tokens["consultations"]})
	if code, field := fieldOf(err); code != codes.InvalidArgument || field != "page_token" {
		t.Errorf("cards, a consultations' token: %v naming %q", code, field)
	}
	// The office named, or left to default to the caller's, is one query.
	if _, err := duty.ListReports(ctx, &yizhanv1.ListReportsRequest{OfficeCode: county, PageToken: tokens["reports"]}); err != nil {
		t.Errorf("reports of the county named, a token of the county's by default: %v", err)
	}
	// Over REST.
	base := "http://" + countyNode.HTTPAddr()
	code, body := restCall(t, "GET", base+"/v1/cases?history=true&state=CASE_STATE_FILED&page_token="+url.QueryEscape(tokens["cases"]), admin.token, "")
	if code != http.StatusBadRequest || !slices.Equal(violatedFields(body), []string{"page_token"}) {
		t.Errorf("GET /v1/cases with another state: %d naming %v; want 400 naming page_token", code, violatedFields(body))
	}
	code, body = restCall(t, "GET", base+"/v1/cases?history=true&page_size=5&page_token="+url.QueryEscape(tokens["cases"]), admin.token, "")
	if code != http.StatusOK {
		t.Errorf("GET /v1/cases, the same filters: %d %v", code, body)
	}
}
