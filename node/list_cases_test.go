package node_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// idNumberEndingInX is a valid resident ID number whose check character
// is X, found by trying birth serials.
func idNumberEndingInX(t *testing.T) string {
	for serial := range 1000 {
		if id := fmt.Sprintf("45012219850312%03dX", serial); casework.ValidIDNumber(id) == nil {
			return id
		}
	}
	t.Fatal("no ID number ending in X")
	return ""
}

// Staff list an office's cases three ways — its queue, its history by
// filing date, a citizen's cases by ID number, phone, name or (an
// organisation's) credit code — a page at
// a time; bad filters are refused naming the field.
func TestListCasesQueueHistoryAndApplicant(t *testing.T) {
	f := newCaseFed(t, 1)
	clerk := dial(t, f.nodes["county-1"]).login("clerk", password)
	cases := caseClient(t, clerk)
	xID := idNumberEndingInX(t)
	// 韦丽 files for her shop, a 个体工商户 with a credit code.
	creditCodes := map[string]string{"韦丽": "91350100M000100Y43"}
	file := func(name, id, phone string) string {
		t.Helper()
		resp, err := cases.FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{
			ItemCode:  tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: name, IdNumber: id, Phone: phone, CreditCode: creditCodes[name]},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}},
		})
		if err != nil {
			t.Fatalf("file a case: %v", err)
		}
		return resp.GetCase().GetNumber()
	}
	var all, hers []string
	for i := range 7 {
		if i%3 == 0 {
			hers = append(hers, file("韦丽", xID, "13907719999"))
			all = append(all, hers[len(hers)-1])
		} else {
			all = append(all, file(fmt.Sprintf("申请人%d", i), applicantID, "13907710001"))
		}
	}
	// One refused and closed by its delivery: out of the queue, in the
	// history.
	refused := all[1]
	for _, step := range []func(yizhanv1.CaseServiceClient) error{
		func(c yizhanv1.CaseServiceClient) error {
			_, err := c.Refuse(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: refused, Reason: "不属于本机关职权", LegalBasis: "《行政许可法》第三十二条"})
			return err
		},
		func(c yizhanv1.CaseServiceClient) error {
			_, err := c.Deliver(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: refused})
			return err
		},
	} {
		if err := step(cases); err != nil {
			t.Fatal(err)
		}
	}
	caseAt(t, f.nodes["county-1"], refused, yizhanv1.CaseState_CASE_STATE_CLOSED, 5*time.Second)

	list := func(req *yizhanv1.ListCasesRequest) []string {
		t.Helper()
		var out []string
		for range 100 {
			resp, err := cases.ListCases(clerk.ctx(), req)
			if err != nil {
				t.Fatalf("ListCases(%v): %v", req, err)
			}
			for _, c := range resp.GetCases() {
				out = append(out, c.GetNumber())
			}
			if resp.GetNextPageToken() == "" {
				return out
			}
			req.PageToken = resp.GetNextPageToken()
		}
		t.Fatal("the pages never end")
		return nil
	}
	newestFirst := func(ns []string) []string {
		out := slices.Clone(ns)
		slices.Reverse(out)
		return out
	}
	without := func(ns []string, drop string) []string {
		return slices.DeleteFunc(slices.Clone(ns), func(n string) bool { return n == drop })
	}

	queue := list(&yizhanv1.ListCasesRequest{PageSize: 2})
	if slices.Contains(queue, refused) || len(queue) != len(all)-1 {
		t.Errorf("queue: %v; want the %d open cases", queue, len(all)-1)
	}
	slices.Sort(queue)
	if want := without(all, refused); !slices.Equal(queue, want) {
		t.Errorf("queue holds %v, want %v", queue, want)
	}
	if got := list(&yizhanv1.ListCasesRequest{History: true, PageSize: 3}); !slices.Equal(got, newestFirst(all)) {
		t.Errorf("history: %v, want %v", got, newestFirst(all))
	}
	if got := list(&yizhanv1.ListCasesRequest{State: yizhanv1.CaseState_CASE_STATE_CLOSED}); !slices.Equal(got, []string{refused}) {
		t.Errorf("closed: %v, want %s", got, refused)
	}
	now := time.Now()
	if got := list(&yizhanv1.ListCasesRequest{FiledFrom: timestamppb.New(now.Add(-time.Hour)), FiledTo: timestamppb.New(now.Add(time.Hour))}); len(got) != len(all) {
		t.Errorf("filed in the last hour: %v, want all %d", got, len(all))
	}
	if got := list(&yizhanv1.ListCasesRequest{FiledTo: timestamppb.New(now.Add(-time.Hour))}); len(got) != 0 {
		t.Errorf("filed before an hour ago: %v, want none", got)
	}
	if got := list(&yizhanv1.ListCasesRequest{DepartmentCode: "mz", History: true}); len(got) != 0 {
		t.Errorf("another department's cases: %v", got)
	}
	for what, a := range map[string]string{
		"ID number": xID, "ID number, small x": xID[:17] + "x", "phone": "13907719999", "name": "韦丽",
		"credit code": "91350100M000100Y43", "credit code, small letters": "91350100m000100y43",
	} {
		if got := list(&yizhanv1.ListCasesRequest{Applicant: a, PageSize: 1}); !slices.Equal(got, newestFirst(hers)) {
			t.Errorf("by %s %q: %v, want %v", what, a, got, newestFirst(hers))
		}
	}
	// The applicant with the other filters.
	if got := list(&yizhanv1.ListCasesRequest{Applicant: applicantID, State: yizhanv1.CaseState_CASE_STATE_CLOSED}); !slices.Equal(got, []string{refused}) {
		t.Errorf("the applicant's closed cases: %v, want %s", got, refused)
	}
	if got := list(&yizhanv1.ListCasesRequest{Applicant: xID, DepartmentCode: "mz"}); len(got) != 0 {
		t.Errorf("her cases of another department: %v", got)
	}
	if got := list(&yizhanv1.ListCasesRequest{Applicant: xID, FiledFrom: timestamppb.New(now.Add(-time.Hour)), FiledTo: timestamppb.New(now.Add(time.Hour)), PageSize: 1}); !slices.Equal(got, newestFirst(hers)) {
		t.Errorf("her cases filed in the last hour: %v, want %v", got, newestFirst(hers))
	}
	if got := list(&yizhanv1.ListCasesRequest{Applicant: xID, FiledTo: timestamppb.New(now.Add(-time.Hour))}); len(got) != 0 {
		t.Errorf("her cases filed before an hour ago: %v, want none", got)
	}

	for _, tt := range []struct {
		field string
		req   *yizhanv1.ListCasesRequest
	}{
		{"page_token", &yizhanv1.ListCasesRequest{PageToken: "not-a-token"}},
		{"page_token", &yizhanv1.ListCasesRequest{History: true, PageToken: "x"}},
		{"page_size", &yizhanv1.ListCasesRequest{PageSize: -1}},
		{"filed_to", &yizhanv1.ListCasesRequest{FiledFrom: timestamppb.New(now), FiledTo: timestamppb.New(now.Add(-time.Hour))}},
		{"overdue", &yizhanv1.ListCasesRequest{Overdue: true, History: true}},
		{"overdue", &yizhanv1.ListCasesRequest{Overdue: true, Applicant: xID}},
		{"state", &yizhanv1.ListCasesRequest{State: 99}},
		{"state", &yizhanv1.ListCasesRequest{State: 99, History: true}},
		{"applicant", &yizhanv1.ListCasesRequest{Applicant: "黄\x00\x1b[2J"}},
		{"item_code", &yizhanv1.ListCasesRequest{ItemCode: "450122\n-YC-001"}},
	} {
		_, err := cases.ListCases(clerk.ctx(), tt.req)
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != tt.field {
			t.Errorf("ListCases(%v): %s naming %q; want InvalidArgument naming %s", tt.req, code, field, tt.field)
		}
	}
	_, verr := cases.VerifyCase(clerk.ctx(), &yizhanv1.VerifyCaseRequest{})
	if code, field := fieldOf(verr); code != codes.InvalidArgument || field != "number" {
		t.Errorf("VerifyCase with no number: %v", verr)
	}
}

// fieldOf is an error's code and the field its first field violation
// names ("" when none).
func fieldOf(err error) (codes.Code, string) {
	st := status.Convert(err)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return st.Code(), br.GetFieldViolations()[0].GetField()
		}
	}
	return st.Code(), ""
}
