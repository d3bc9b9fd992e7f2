package node_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// A scan's file name is "as uploaded (shown to staff who may download
// the file)" (api: Attachment), and scans are "shown to staff who handle
// it, never to the public"
// (SubmittedMaterial.files). A window PC names scans after the citizen
// (张三身份证450122199001011237.pdf): the citizen's view of the case, read
// with the number and query code, must not carry that name, or the ID
// number it masks in the applicant is there in clear beside it.
func TestAScansFileNameIsNotShownToTheCitizen(t *testing.T) {
	n, _, clerk := loneTobaccoCounty(t)

	name := "张三身份证" + applicantID + ".pdf"
	a := upload(t, clerk, scan(4000, 7), casework.TypePDF, name)
	resp, err := caseClient(t, clerk).FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "张三", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1, Files: []*yizhanv1.Attachment{a}}}})
	if err != nil {
		t.Fatalf("file: %v", err)
	}
	number, code := resp.GetCase().GetNumber(), resp.GetCase().GetQueryCode()

	citizen := dial(t, n)
	got, err := caseClient(t, citizen).GetCase(citizen.ctx(), &yizhanv1.GetCaseRequest{Number: number, QueryCode: code})
	if err != nil {
		t.Fatal(err)
	}
	if id := got.GetCase().GetApplicant().GetIdNumber(); id != casework.MaskIDNumber(applicantID) {
		t.Fatalf("the citizen sees the applicant's ID number %q, want it masked", id)
	}
	if text := protojson.Format(got.GetCase()); strings.Contains(text, applicantID) {
		t.Errorf("GetCase as the citizen (number + query code) carries the ID number in clear, in the scan's file name: %s",
			got.GetCase().GetMaterials()[0].GetFiles()[0].GetFileName())
	}
	evs, err := caseClient(t, citizen).ListCaseEvents(citizen.ctx(), &yizhanv1.ListCaseEventsRequest{Number: number, QueryCode: code})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs.GetEvents() {
		if text := protojson.Format(e); strings.Contains(text, applicantID) {
			t.Errorf("ListCaseEvents as the citizen: event %d (%s) carries the ID number in clear", e.GetSeq(), e.GetType())
		}
	}
}
