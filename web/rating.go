package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The citizen's say about a case, on the track page: the rating of a
// closed case (好差评) and complaints (投诉). Both forms carry the query
// code the citizen typed to track the case in a hidden field: posted,
// never in a URL. After a rating or a complaint the browser goes (post,
// redirect, get) to the tracked case under a short-lived ticket that only
// this browser can use, so that a reload does not send the form again.

var ratingNames = map[yizhanv1.Rating]string{
	yizhanv1.Rating_RATING_VERY_SATISFIED:      "非常满意",
	yizhanv1.Rating_RATING_SATISFIED:           "满意",
	yizhanv1.Rating_RATING_BASICALLY_SATISFIED: "基本满意",
	yizhanv1.Rating_RATING_DISSATISFIED:        "不满意",
	yizhanv1.Rating_RATING_VERY_DISSATISFIED:   "非常不满意",
}

// ratingOptions are the five levels, best first, as the form offers them.
var ratingOptions = []option{{1, "非常满意"}, {2, "满意"}, {3, "基本满意"}, {4, "不满意"}, {5, "非常不满意"}}

// badRating reports whether a rating must say what went wrong and be
// followed up (不满意, 非常不满意).
func badRating(r yizhanv1.Rating) bool {
	return r == yizhanv1.Rating_RATING_DISSATISFIED || r == yizhanv1.Rating_RATING_VERY_DISSATISFIED
}

// RatingName is the case's rating in Chinese ("" when not rated).
func (d *caseData) RatingName() string { return ratingNames[d.C.GetRating()] }

// BadRating reports whether the case was rated 不满意 or 非常不满意.
func (d *caseData) BadRating() bool { return badRating(d.C.GetRating()) }

// citizenActions are the citizen's forms on the track page.
var citizenActions = map[string]struct {
	call func(yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error)
	done string
}{
	"rate": {
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.Rate
		},
		done: "评价已提交，感谢您的评价。",
	},
	"complain": {
		call: func(c yizhanv1.CaseServiceServer) func(context.Context, *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
			return c.Complain
		},
		done: "投诉已提交，将由办理机关调查处理并答复您。",
	},
}

type trackData struct {
	Number string
	Case   *caseData
	// Code is the query code the citizen typed, for the hidden field of
	// the rating and complaint forms.
	Code    string
	Failed  string // "rate" or "complain": the form shown again as typed
	F       formValues
	Staff   bool // signed in as staff: rating and complaining are the citizen's
	Ratings []option
	// FollowUps are the county's follow-ups of the citizen's complaints
	// and bad ratings (none shown when the county cannot be reached).
	FollowUps []*yizhanv1.FollowUp
}

// FollowUpState is a follow-up's state in the citizen's words.
func (d *trackData) FollowUpState(st yizhanv1.FollowUpState) string {
	return map[yizhanv1.FollowUpState]string{
		yizhanv1.FollowUpState_FOLLOW_UP_STATE_OPEN:     "办理机关正在调查整改",
		yizhanv1.FollowUpState_FOLLOW_UP_STATE_REPLIED:  "办理机关已答复，请告诉我们问题是否解决",
		yizhanv1.FollowUpState_FOLLOW_UP_STATE_RESOLVED: "已办结",
	}[st]
}

// CanRate reports whether the citizen may rate the case now (the API
// says so in allowed_actions: a closed case, not rated yet).
func (d *trackData) CanRate() bool { return slices.Contains(d.Case.C.GetAllowedActions(), "rate") }

// CanComplain reports whether the citizen may complain about the case now
// (allowed_actions).
func (d *trackData) CanComplain() bool {
	return slices.Contains(d.Case.C.GetAllowedActions(), "complain")
}

// V is a field of the citizen's form that failed, as typed.
func (d *trackData) V(form, field string) string {
	if d.Failed != form {
		return ""
	}
	return d.F.Get(field)
}

// trackLabels are the track page's fields, for the summary of errors.
var trackLabels = map[string]string{
	"number": "办件编号", "query_code": "查询码",
	"rate.rating": "好差评：评价", "rate.reason": "好差评：评价说明", "complain.reason": "投诉：投诉内容",
	"revisit.resolved": "回访：问题是否已解决", "revisit.comment": "回访：意见",
}

// trackSearch shows the search form of the track page, with errs.
func (s *server) trackSearch(rq *request, code int, number string, errs formErrors) error {
	errs.labels = trackLabels
	s.formCSRF(rq)
	return s.render(rq, code, "track", &view{Title: "办件查询", Section: "track", Data: &trackData{Number: number}, Errs: errs})
}

// showTracked shows a case to the citizen who gave its number and query
// code: failed names the citizen's form shown again with f and errs.
// After the citizen's own rating or complaint, minSeq is the seq of its
// event, which the page waits for (briefly).
func (s *server) showTracked(rq *request, code int, number, queryCode string, minSeq uint32, failed string, f formValues, errs formErrors, flash string) error {
	// Asked as the citizen: with the query code, without any staff token.
	cd, err := s.loadTracked(rq, number, queryCode, minSeq)
	if err != nil {
		var errs formErrors
		if fe, ok := fieldErrors(err, "", func(f string) string {
			if f == "number" || f == "query_code" {
				return f
			}
			return ""
		}); ok {
			return s.trackSearch(rq, http.StatusBadRequest, number, fe)
		}
		switch status.Code(err) {
		case codes.NotFound, codes.PermissionDenied:
			errs.addGeneral("没有找到该办件：请核对办件编号和查询码。")
			return s.trackSearch(rq, http.StatusNotFound, number, errs)
		case codes.Unavailable, codes.DeadlineExceeded:
			errs.addGeneral(orLocalized(status.Convert(err), "暂时无法连接到保存该办件的办事点，请稍后再查。"))
			return s.trackSearch(rq, http.StatusServiceUnavailable, number, errs)
		case codes.ResourceExhausted:
			msg := "查询码错误次数过多，请稍后再查。"
			for _, d := range status.Convert(err).Details() {
				if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
					msg = "查询码错误次数过多，请 " + humanDuration(ri.GetRetryDelay().AsDuration()) + "后再查。"
				}
			}
			errs.addGeneral(orLocalized(status.Convert(err), msg))
			return s.trackSearch(rq, http.StatusTooManyRequests, number, errs)
		}
		return err
	}
	d := &trackData{Number: number, Case: cd, Code: queryCode, Failed: failed, F: f, Staff: rq.staff() != nil, Ratings: ratingOptions}
	if s.cfg.Supervision != nil && (cd.C.GetComplaints() > 0 || badRating(cd.C.GetRating())) {
		if fs, err := s.cfg.Supervision.ListFollowUps(rq.citizenCtx(), &yizhanv1.ListFollowUpsRequest{CaseNumber: number, QueryCode: queryCode}); err == nil {
			d.FollowUps = fs.GetFollowUps()
		}
	}
	errs.labels = trackLabels
	s.formCSRF(rq)
	return s.render(rq, code, "track", &view{Title: "办件查询 " + number, Section: "track", Data: d, Errs: errs, Flash: flash, NoStore: true})
}

// trackAct records the citizen's rating or complaint (the form's name is
// the path's last part).
func (s *server) trackAct(rq *request) error {
	name := rq.r.PathValue("action")
	a, ok := citizenActions[name]
	if !ok {
		return errNotFound
	}
	f := rq.r.PostForm
	number, code := strings.TrimSpace(f.Get("number")), strings.TrimSpace(f.Get("query_code"))
	if number == "" || code == "" {
		var errs formErrors
		errs.addGeneral("请先凭办件编号和查询码查询办件，再评价或投诉。")
		return s.trackSearch(rq, http.StatusBadRequest, number, errs)
	}
	req := &yizhanv1.CaseActionRequest{Number: number, QueryCode: code, Reason: strings.TrimSpace(f.Get("reason"))}
	var errs formErrors
	if name == "rate" {
		if r := f.Get("rating"); r != "" {
			n, err := strconv.Atoi(r)
			if err != nil {
				errs.add("rate.rating", "请选择一项评价")
			}
			req.Rating = yizhanv1.Rating(n)
		}
	}
	if errs.Any() {
		return s.showTracked(rq, http.StatusBadRequest, number, code, 0, name, formValues{f}, errs, "")
	}
	// With the staff token when signed in: the API refuses staff, as
	// rating and complaining are the citizen's own.
	resp, err := a.call(s.cfg.Cases)(rq.ctx(), req)
	if err != nil {
		if fe, ok := fieldErrors(err, "", func(field string) string {
			if field == "rating" || field == "reason" {
				return name + "." + field
			}
			return ""
		}); ok {
			return s.showTracked(rq, http.StatusBadRequest, number, code, 0, name, formValues{f}, fe, "")
		}
		if errs, httpStatus, ok := citizenUnsent(rq, err, "当前状态下不能"+map[string]string{"rate": "评价", "complain": "投诉"}[name]+"。", "暂时无法连接到保存该办件的办事点，请稍后再提交。"); ok {
			return s.showTracked(rq, httpStatus, number, code, 0, name, formValues{f}, errs, "")
		}
		if status.Code(err) == codes.NotFound {
			errs.addGeneral("没有找到该办件：请核对办件编号和查询码。")
			return s.trackSearch(rq, http.StatusNotFound, number, errs)
		}
		return err
	}
	return rq.redirect("/track/t/" + s.keepTicket(rq, number, code, resp.GetCase().GetLastSeq()) + "?done=" + name)
}

// citizenUnsent is what a citizen's form on the track page says above
// itself, kept as typed, when the API did not take it for a reason that
// is not the input's (unsaved, in the citizen's words): it may have been
// done (look first), the office that keeps it was out of reach (away),
// the case's state does not allow it now (refused), the form was sent
// before with other words (formSentBefore); in the API's words when it
// has them. ok is false for the errors that get a page of their own.
func citizenUnsent(rq *request, err error, refused, away string) (errs formErrors, code int, ok bool) {
	st := status.Convert(err)
	if lookFirst(st) {
		rq.lookFirst = true
		errs.addGeneral(orLocalized(st, "可能已经提交，也可能没有：请先刷新查看，再决定是否重新提交。"))
		return errs, http.StatusServiceUnavailable, true
	}
	switch st.Code() {
	case codes.Unavailable:
		errs.addGeneral("未提交：" + orLocalized(st, away) + "您填写的内容仍在下面。")
		return errs, http.StatusServiceUnavailable, true
	case codes.FailedPrecondition:
		errs.addGeneral("未提交：" + orLocalized(st, refused))
		return errs, http.StatusConflict, true
	case codes.Aborted:
		errs.addGeneral("未提交：" + aborted(st, "该办件刚有变化，请刷新后再提交。"))
		return errs, http.StatusConflict, true
	}
	return errs, 0, false
}

// loadTracked loads a case as the citizen. The event of the citizen's own
// rating or complaint, seq minSeq, was appended where the case is owned,
// maybe at another office, and reaches the copy this node reads (the
// county's, maybe on a node that has not applied it yet) a moment later:
// it tries again for up to 3 s until the case and its timeline both show
// it, so that the page after the form does.
func (s *server) loadTracked(rq *request, number, queryCode string, minSeq uint32) (*caseData, error) {
	wait := time.NewTimer(3 * time.Second)
	defer wait.Stop()
	for {
		cd, err := s.loadCase(rq, rq.r.Context(), number, queryCode)
		if err != nil || (cd.C.GetLastSeq() >= minSeq && len(cd.Events) >= int(minSeq)) {
			return cd, err
		}
		select {
		case <-rq.r.Context().Done():
			return cd, nil
		case <-wait.C:
			return cd, nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ticketTTL is how long the page after a rating or complaint can be shown
// again.
const ticketTTL = 30 * time.Minute

// ticket is a tracked case kept for the browser that rated or complained.
type ticket struct {
	number, code string
	seq          uint32 // of the rating or complaint
}

// keepTicket keeps the ticket for this browser and returns its page id:
// in this node's memory, and sealed for the office's other nodes.
func (s *server) keepTicket(rq *request, number, code string, seq uint32) string {
	owner, now := s.formCSRF(rq), s.now()
	memID := s.tickets.put(owner, ticket{number: number, code: code, seq: seq}, now, ticketTTL)
	return s.pageID(memID, pageRef{Number: number, Code: code, Seq: seq, Owner: owner, Expires: now.Add(ticketTTL).Unix()})
}

// trackTicket shows the case of a ticket, to the browser it was made for.
func (s *server) trackTicket(rq *request) error {
	owner, now := s.formCSRF(rq), s.now()
	memID, ref := s.openPageID(rq.r.PathValue("id"), owner, now)
	t, ok := s.tickets.get(memID, owner, now)
	if !ok && ref != nil {
		t, ok = ticket{number: ref.Number, code: ref.Code, seq: ref.Seq}, true // made by another node of the office
	}
	if !ok {
		var errs formErrors
		errs.addGeneral("此页面已过期：请重新输入办件编号和查询码查询。")
		return s.trackSearch(rq, http.StatusNotFound, "", errs)
	}
	flash := ""
	if a, ok := citizenActions[rq.r.URL.Query().Get("done")]; ok {
		flash = a.done
	} else if rq.r.URL.Query().Get("done") == "revisit" {
		flash = "回访意见已提交，谢谢。"
	}
	return s.showTracked(rq, http.StatusOK, t.number, t.code, t.seq, "", formValues{}, formErrors{}, flash)
}

// trackReceipt shows a case's receipt (回执) again, to whoever holds its
// number and query code: a citizen who closed the receipt page, or lost
// the printout, opens it from the tracked case.
func (s *server) trackReceipt(rq *request) error {
	f := rq.r.PostForm
	number, code := strings.TrimSpace(f.Get("number")), strings.TrimSpace(f.Get("query_code"))
	var errs formErrors
	if number == "" || code == "" {
		errs.addGeneral("请先凭办件编号和查询码查询办件，再查看申请回执。")
		return s.trackSearch(rq, http.StatusBadRequest, number, errs)
	}
	resp, err := s.cfg.Cases.GetCase(rq.citizenCtx(), &yizhanv1.GetCaseRequest{Number: number, QueryCode: code})
	switch status.Code(err) {
	case codes.OK:
	case codes.NotFound, codes.PermissionDenied, codes.InvalidArgument, codes.ResourceExhausted:
		errs.addGeneral("没有找到该办件：请核对办件编号和查询码。")
		return s.trackSearch(rq, http.StatusNotFound, number, errs)
	default:
		return err
	}
	d, err := s.receiptOf(rq, resp.GetCase())
	if err != nil {
		return err
	}
	d.QueryCode, d.Reopened = code, true
	return s.render(rq, http.StatusOK, "case_filed", &view{Title: "申请回执 " + number, Section: "track", Data: d, NoStore: true})
}

// trackRevisit records the citizen's return visit on a follow-up's reply:
// resolved, or not with a comment (the follow-up opens again).
func (s *server) trackRevisit(rq *request) error {
	f := rq.r.PostForm
	number, code := strings.TrimSpace(f.Get("number")), strings.TrimSpace(f.Get("query_code"))
	if number == "" || code == "" || s.cfg.Supervision == nil {
		var errs formErrors
		errs.addGeneral("请先凭办件编号和查询码查询办件，再提交回访意见。")
		return s.trackSearch(rq, http.StatusBadRequest, number, errs)
	}
	var errs formErrors
	resolved := f.Get("resolved")
	comment := strings.TrimSpace(f.Get("comment"))
	switch {
	case resolved != "1" && resolved != "0":
		errs.add("revisit.resolved", "请选择问题是否已解决")
	case resolved == "0" && comment == "":
		errs.add("revisit.comment", "问题未解决时，请写明哪里仍不满意")
	}
	if errs.Any() {
		return s.showTracked(rq, http.StatusBadRequest, number, code, 0, "revisit", formValues{f}, errs, "")
	}
	_, err := s.cfg.Supervision.RevisitFollowUp(rq.citizenCtx(), &yizhanv1.RevisitFollowUpRequest{Id: f.Get("id"), QueryCode: code, Resolved: resolved == "1", Comment: comment})
	if err != nil {
		if status.Code(err) == codes.InvalidArgument {
			errs.addGeneral("未提交：" + orLocalized(status.Convert(err), "此回访现在不能提交。"))
			return s.showTracked(rq, http.StatusConflict, number, code, 0, "revisit", formValues{f}, errs, "")
		}
		if errs, httpStatus, ok := citizenUnsent(rq, err, "此回访现在不能提交。", "暂时无法连接到县政务服务中心，请稍后再提交。"); ok {
			return s.showTracked(rq, httpStatus, number, code, 0, "revisit", formValues{f}, errs, "")
		}
		if status.Code(err) == codes.NotFound {
			errs.addGeneral("没有找到该办件：请核对办件编号和查询码。")
			return s.trackSearch(rq, http.StatusNotFound, number, errs)
		}
		return err
	}
	return rq.redirect("/track/t/" + s.keepTicket(rq, number, code, 0) + "?done=revisit")
}
