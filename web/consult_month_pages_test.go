package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// monthSupervision pages the month's consultations as the node does: a
// page token goes on only with the query that gave it out, the month's
// first day (from) among its filters (node/pagetoken.go).
type monthSupervision struct {
	*manySupervision
}

func (m monthSupervision) ListConsultations(ctx context.Context, req *yizhanv1.ListConsultationsRequest) (*yizhanv1.ListConsultationsResponse, error) {
	if req.GetAwaitingAnswer() {
		return m.manySupervision.ListConsultations(ctx, req)
	}
	off := ""
	if t := req.GetPageToken(); t != "" {
		from, pos, ok := strings.Cut(t, "|")
		if !ok || from != req.GetFrom() {
			return nil, badRequest(reason.Violation{Field: "page_token", Reason: reason.InvalidFormat, Meta: reason.Meta{"format": "PAGE_TOKEN"},
				Description: "belongs to another query: page on with the filters of the first page (page_size may change), or ask for the first page"})
		}
		off = pos
	}
	cs, next := pageOf(m.consultations, off, req.GetPageSize())
	if next != "" {
		next = req.GetFrom() + "|" + next
	}
	return &yizhanv1.ListConsultationsResponse{Consultations: cs, NextPageToken: next}, nil
}

var earlierConsultationsRE = regexp.MustCompile(`<a href="([^"]+)">更早的咨询 →</a>`)

// A clerk who opened the consultations page on the month's last evening
// and, after midnight, follows its link to the month's earlier
// consultations, or answers a question on it, is shown the new month's
// consultations from the newest, with links of the new month's list:
// the API refuses the token of last month's list with this month's
// dates, and the page answered 400.
func TestConsultationsPageOpenedLastMonthShowsThisMonths(t *testing.T) {
	sv := &manySupervision{formsSupervision: &formsSupervision{}}
	for i := range consultPageSize + 1 {
		sv.consultations = append(sv.consultations, &yizhanv1.Consultation{Id: consultationID(i), Question: "需要带什么材料？", At: timestamppb.New(now),
			State: yizhanv1.ConsultationState_CONSULTATION_STATE_ANSWERED, Answer: "身份证"})
	}
	sv.questions = []*yizhanv1.Consultation{{Id: questionID(0), Question: "需要带什么材料？", At: timestamppb.New(now),
		State: yizhanv1.ConsultationState_CONSULTATION_STATE_ASKED}}
	clock := time.Date(2026, 11, 30, 23, 50, 0, 0, china)
	f := newFixture(t, func(c *Config) {
		c.Supervision = monthSupervision{sv}
		c.Now = func() time.Time { return clock }
	})
	clerk := session(adminClerkToken)
	_, page := f.do(t, "GET", "/consultations", nil, clerk)
	m := earlierConsultationsRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no link to the month's earlier consultations")
	}
	link, _, _ := strings.Cut(html.UnescapeString(m[1]), "#")
	if u, _ := url.Parse(link); u.Query().Get("recent") == "" {
		t.Fatalf("the link %s holds no page of the consultations", link)
	}

	clock = time.Date(2026, 12, 1, 0, 5, 0, 0, china)
	resp, after := f.do(t, "GET", link, nil, clerk)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the link to the earlier consultations followed after midnight (%s): %s", link, resp.Status)
	}
	if !strings.Contains(after, consultationID(0)) || strings.Contains(after, consultationID(consultPageSize)) {
		t.Error("after midnight the page does not show the new month's consultations from the newest")
	}
	if strings.Contains(after, "← 最新的咨询") {
		t.Error("the month's list shown from its first page links back to its first page")
	}
	if m := earlierConsultationsRE.FindStringSubmatch(after); m == nil {
		t.Error("the new month's list has no link to its earlier consultations")
	} else if next, _, _ := strings.Cut(html.UnescapeString(m[1]), "#"); !strings.Contains(next, url.QueryEscape("2026-12-01|")) {
		t.Errorf("the new month's next page %s is not of the new month's list", next)
	}
	// The answer form's way back holds no page of last month's list.
	action := formAction(t, after, "q-"+questionID(0))
	if strings.Contains(action, "recent=") {
		t.Errorf("the answer form %s carries last month's page of the consultations", action)
	}

	// An answer sent from the page opened before midnight comes back to
	// this month's page.
	clock = time.Date(2026, 11, 30, 23, 55, 0, 0, china)
	_, before := f.do(t, "GET", link, nil, clerk)
	action = formAction(t, before, "q-"+questionID(0))
	clock = time.Date(2026, 12, 1, 0, 5, 0, 0, china)
	resp, _ = f.do(t, "POST", action, url.Values{"csrf": {csrfOf(t, before)}, "answer": {"请携带身份证。"}}, clerk)
	to := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(to, "msg=answered") {
		t.Fatalf("an answer: %s to %q", resp.Status, to)
	}
	if resp, page = f.do(t, "GET", to, nil, clerk); resp.StatusCode != http.StatusOK || !strings.Contains(page, consultationID(0)) {
		t.Errorf("after the answer the page (%s) is %s, not this month's consultations from the newest", to, resp.Status)
	}
}
