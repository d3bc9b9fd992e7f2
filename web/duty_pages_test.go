package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// writingReports is manyReports that also takes reports written and
// corrected, and the zero report.
type writingReports struct {
	*manyReports
	written, updated []*yizhanv1.UrgentReport
}

func (w *writingReports) WriteReport(_ context.Context, req *yizhanv1.WriteReportRequest) (*yizhanv1.HeldReport, error) {
	w.written = append(w.written, req.GetReport())
	return &yizhanv1.HeldReport{Report: req.GetReport()}, nil
}

func (w *writingReports) UpdateReport(_ context.Context, req *yizhanv1.UpdateReportRequest) (*yizhanv1.HeldReport, error) {
	w.updated = append(w.updated, req.GetReport())
	return &yizhanv1.HeldReport{Report: req.GetReport()}, nil
}

func (w *writingReports) SendZeroReport(context.Context, *yizhanv1.SendZeroReportRequest) (*yizhanv1.ZeroReport, error) {
	return &yizhanv1.ZeroReport{}, nil
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// shownKind is the report kind a 续报 or 终报 link asks for.
func shownKind(link string) string {
	u, _ := url.Parse(link)
	return u.Query().Get("kind")
}

var reportFormRE = regexp.MustCompile(`<form method="post" action="([^"]+)" class="form" id="report-form">`)

// A duty officer on the second pages of 本单位报告 and 下级报告 corrects
// a draft there (修改), writes a 续报 and a 终报 of a first report there,
// and sends the zero report: the form each link opens, and each form,
// posted, comes back to the same pages. The links were /duty?edit=… and
// /duty?first=…, and the forms posted to /duty: the pages were lost, the
// officer back on the first page of every list.
func TestDutyFormsComeBackToThePagesTheyWereOpenedFrom(t *testing.T) {
	du := &writingReports{manyReports: &manyReports{}}
	for i := range reportsPageSize {
		du.all = append(du.all, heldReport(county, ownID(i), "县本级报告"), heldReport(village, fmt.Sprintf("R-RECV-%05d", i), receivedTitle(i)))
	}
	draft := heldReport(county, "R-DRAFT", "待签发")
	draft.Report.State = yizhanv1.ReportState_REPORT_STATE_DRAFT
	du.all = append(du.all, draft, heldReport(county, "R-FIRST", "未终报的首报"), heldReport(village, "R-RECV-LAST", receivedTitle(reportsPageSize)))
	f := newFixture(t, func(cfg *Config) {
		cfg.Auth = belowDutyAuth{cfg.Auth.(*fakeAuth)}
		cfg.Duty = du
	})
	officer := session(belowDutyToken)
	_, page := f.do(t, "GET", "/duty", nil, officer)
	page, _ = follow(t, f, page, "更早的本单位报告 →", officer)
	page, shown := follow(t, f, page, "更早的下级报告 →", officer)
	shownURL, err := url.Parse(shown)
	if err != nil {
		t.Fatal(err)
	}
	pages := shownURL.Query()
	if pages.Get("own") == "" || pages.Get("received") == "" {
		t.Fatalf("the second pages are %s (the test's setup is wrong)", shown)
	}
	samePages := func(what, to string) {
		t.Helper()
		u, err := url.Parse(to)
		if err != nil {
			t.Fatal(err)
		}
		for _, list := range []string{"own", "received"} {
			if got := u.Query().Get(list); got != pages.Get(list) {
				t.Errorf("%s goes to %s: %s's page %q, want %q (the page it was on)", what, to, list, got, pages.Get(list))
			}
		}
	}
	fields := url.Values{"category": {"1"}, "level": {"4"}, "title": {"续报"}, "place": {"东村"}, "occurred_at": {"2026-11-27T09:00"}, "details": {"情况"}}
	linkRE := func(text string) *regexp.Regexp {
		return regexp.MustCompile(`<a (?:class="edit" )?href="([^"]+)">` + text + `</a>`)
	}
	for _, c := range []struct{ name, article, link, msg string }{
		{"修改", "own-R-DRAFT", "修改", "updated"},
		{"续报", "own-R-FIRST", "续报", "written"},
		{"终报", "own-R-FIRST", "终报", "written"},
	} {
		art := section(t, page, `id="`+c.article+`"`)
		m := linkRE(c.link).FindStringSubmatch(art)
		if m == nil {
			t.Fatalf("no %s link on %s", c.link, c.article)
		}
		link := html.UnescapeString(m[1])
		samePages(c.name+"'s link", link)
		path, _, _ := strings.Cut(link, "#")
		resp, form := f.do(t, "GET", path, nil, officer)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", link, resp.Status)
		}
		fm := reportFormRE.FindStringSubmatch(form)
		if fm == nil {
			t.Fatalf("%s opens no report form", link)
		}
		action := html.UnescapeString(fm[1])
		samePages(c.name+"'s form", action)
		post := url.Values{"csrf": {csrfOf(t, form)}}
		for k, v := range fields {
			post[k] = v
		}
		form = form[strings.Index(form, `id="report-form"`):]
		for _, h := range hiddenRE.FindAllStringSubmatch(form[:strings.Index(form, "</form>")], -1) {
			post.Set(h[1], html.UnescapeString(h[2]))
		}
		if k := shownKind(link); k != "" {
			post.Set("kind", k) // the select of 续报 / 终报, as the link chose it
		}
		resp, body := f.do(t, "POST", action, post, officer)
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "msg="+c.msg) {
			t.Fatalf("%s posted to %s: %s\n%.500s", c.name, action, resp.Status, body)
		}
		samePages(c.name+", written,", resp.Header.Get("Location"))
	}
	if len(du.updated) != 1 || len(du.written) != 2 || du.written[0].GetFirstId() != "R-FIRST" ||
		du.written[0].GetKind() != yizhanv1.ReportKind_REPORT_KIND_FOLLOW_UP || du.written[1].GetKind() != yizhanv1.ReportKind_REPORT_KIND_FINAL {
		t.Errorf("corrected %d, written %d (%v): want the draft corrected and a 续报 and a 终报 of R-FIRST", len(du.updated), len(du.written), du.written)
	}

	action := formAction(t, page, "zero")
	resp, _ := f.do(t, "POST", action, url.Values{"csrf": {csrfOf(t, page)}, "note": {"今日无紧急重大情况"}}, officer)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the zero report: %s", resp.Status)
	}
	samePages("the zero report", resp.Header.Get("Location"))
}
