package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// Consultations (咨询登记). Staff record the consultations they answer at
// the window or on the phone, and answer the questions citizens left
// online that their office answers (/consultations). Citizens leave a
// question online at this office and read the answer with its number and
// query code (/ask). Recording works while the office is cut off from the
// others: the node keeps it and carries it up later.

var channelNames = map[yizhanv1.ConsultationChannel]string{
	yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_IN_PERSON: "现场",
	yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE:     "电话",
	yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_ONLINE:    "网上留言",
}

type consultData struct {
	Items    []*yizhanv1.Item
	Awaiting []*yizhanv1.Consultation // questions this office answers, oldest first: a page
	Recent   []*yizhanv1.Consultation // this month's, newest first: a page
	Form     formValues
	Month    string
	// AwaitingPages and RecentPages go on to each list's next page and
	// back to its first (consultLists); Pages is what the answer forms
	// carry in their action to come back to the pages shown.
	AwaitingPages, RecentPages listPage
	Pages                      string
}

// ChannelName is a channel in Chinese; one this release does not know
// (a newer node's) is 其他.
func (consultData) ChannelName(c yizhanv1.ConsultationChannel) string {
	if n := channelNames[c]; n != "" {
		return n
	}
	return "其他"
}

var consultFlash = map[string]string{
	"recorded": "咨询已登记。",
	"answered": "已答复，咨询人可凭咨询编号和查询码查看。",
}

// consultPageSize is the questions awaiting an answer, and the month's
// consultations, on a page of each. The questions come oldest first.
const consultPageSize = 50

// consultLists is the consultations page's lists that go on a page at a
// time (pagedLists), in q, the page's parameters.
func consultLists(q url.Values) pagedLists {
	return pagedLists{path: "/consultations", names: []string{"awaiting", "recent"}, q: q}
}

func (s *server) consultations(rq *request) error {
	if err := requireStaff(rq); err != nil {
		return err
	}
	return s.showConsultations(rq, http.StatusOK, formValues{url.Values{}}, formErrors{}, consultFlash[rq.r.URL.Query().Get("msg")])
}

func (s *server) showConsultations(rq *request, code int, f formValues, errs formErrors, flash string) error {
	ctx := rq.ctx()
	now := s.now().In(china)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, china)
	lists := consultLists(rq.r.URL.Query())
	d := &consultData{Form: f, Month: month.Format("2006年1月")}
	if items, err := s.listAllItems(ctx, &yizhanv1.ListItemsRequest{}); err == nil {
		d.Items = items
	}
	me := rq.staff().GetOfficeCode()
	var aw, recent *yizhanv1.ListConsultationsResponse
	if me == s.cfg.Office {
		if err := lists.page("awaiting", func(token string) (err error) {
			aw, err = s.cfg.Supervision.ListConsultations(ctx, &yizhanv1.ListConsultationsRequest{AwaitingAnswer: true, PageSize: consultPageSize,
				PageToken: token})
			return err
		}); err != nil {
			return err
		}
	}
	// The month's list: its page token holds the month it began in, so a
	// page of last month's is shown as this month's first (lists.page).
	if err := lists.page("recent", func(token string) (err error) {
		recent, err = s.cfg.Supervision.ListConsultations(ctx, &yizhanv1.ListConsultationsRequest{OfficeCode: me, From: month.Format("2006-01-02"),
			PageSize: consultPageSize, PageToken: token})
		return err
	}); err != nil {
		return err
	}
	if aw != nil {
		d.Awaiting, d.AwaitingPages = aw.GetConsultations(), lists.links("awaiting", aw.GetNextPageToken())
	}
	d.Recent, d.RecentPages = recent.GetConsultations(), lists.links("recent", recent.GetNextPageToken())
	d.Pages = lists.query()
	s.formCSRF(rq)
	return s.render(rq, code, "consultations", &view{Title: "咨询登记", Section: "consultations", Data: d, Errs: errs, Flash: flash})
}

// consultationAct records a consultation or answers a question, then goes
// back to the page; bad input is shown on the form, as typed.
func (s *server) consultationAct(rq *request) error {
	if err := requireStaff(rq); err != nil {
		return err
	}
	f, sv := rq.r.PostForm, s.cfg.Supervision
	var err error
	msg := "recorded"
	if id := rq.r.PathValue("id"); id != "" {
		msg = "answered"
		_, err = sv.AnswerQuestion(rq.ctx(), &yizhanv1.AnswerQuestionRequest{Id: id, Answer: f.Get("answer")})
	} else {
		form := &formReader{f: f}
		req := &yizhanv1.RecordConsultationRequest{Channel: yizhanv1.ConsultationChannel(form.int32("channel")),
			ItemCode: f.Get("item_code"), Question: f.Get("question"), Answer: f.Get("answer")}
		if form.errs.Any() {
			return &pageError{status: http.StatusBadRequest, title: "无法提交", msg: "咨询方式须从列表中选择。"}
		}
		_, err = sv.RecordConsultation(rq.ctx(), req)
	}
	if err != nil {
		shown, remap := formValues{f}, func(field string) string { return field }
		labels := map[string]string{"channel": "方式", "item_code": "事项", "question": "咨询内容", "answer": "答复内容", "id": "咨询编号"}
		if id := rq.r.PathValue("id"); id != "" {
			// An answer refused stays with its question (answer_to), not
			// in the form that records a consultation; a question not
			// held here (yet) is said in the summary.
			shown = formValues{url.Values{"answer_to": {id}, "answer_text": {f.Get("answer")}}}
			labels[answerField(id)] = "答复内容"
			remap = func(field string) string {
				switch field {
				case "answer":
					return answerField(id)
				case "id":
					return ""
				}
				return field
			}
		}
		if errs, ok := fieldErrors(err, "", remap); ok {
			errs.labels = labels
			for i, g := range errs.general {
				if strings.HasPrefix(g, "id：") {
					errs.general[i] = "这条网上咨询不在本单位：可能尚在转来途中，或已由其他单位答复。请稍后刷新再答复。"
				}
			}
			return s.showConsultations(rq, http.StatusBadRequest, shown, errs, "")
		}
		if errs, code, ok := unsaved(rq, err); ok {
			return s.showConsultations(rq, code, shown, errs, "")
		}
		return err
	}
	// An answer goes back to the pages its form was on (its action's
	// parameters); a consultation recorded, to the first.
	return rq.redirect(consultLists(rq.r.URL.Query()).back(msg))
}

// answerField is the form field of the answer to question id (its box
// on the page: f-answer-<id>).
func answerField(id string) string { return "answer-" + id }

type askData struct {
	Items    []*yizhanv1.Item
	Form     formValues
	Asked    *yizhanv1.AskQuestionResponse // just left: its number and code
	Question *yizhanv1.Consultation        // looked up
}

// answerShown is what the citizen's page says of a question's answer:
// the answer and when it was given, or why there is none to show.
type answerShown struct {
	Text string
	At   *timestamppb.Timestamp // when answered; nil when there is no answer
}

// Outcome is what the citizen reads of question c. A state this release
// does not know (a newer node's, or none) shows the answer when it holds
// one, else says that the page cannot tell, in words: it said 尚未答复
// of every question not answered, one its office had closed another way
// too, and the citizen would wait for an answer that never comes.
func (askData) Outcome(c *yizhanv1.Consultation) answerShown {
	switch {
	case c.GetAnswer() != "":
		return answerShown{Text: c.GetAnswer(), At: c.GetAnsweredAt()}
	case c.GetState() == yizhanv1.ConsultationState_CONSULTATION_STATE_ASKED:
		return answerShown{Text: "尚未答复，请稍后再查。"}
	}
	return answerShown{Text: "这条咨询的办理情况暂时无法在此显示，请稍后再查，或致电办理机关询问。"}
}

func (s *server) askPage(rq *request) error {
	return s.showAsk(rq, http.StatusOK, &askData{Form: formValues{rq.r.URL.Query()}}, formErrors{})
}

func (s *server) showAsk(rq *request, code int, d *askData, errs formErrors) error {
	if items, err := s.listAllItems(rq.citizenCtx(), &yizhanv1.ListItemsRequest{OfficeCode: s.cfg.Office}); err == nil {
		d.Items = items
	}
	s.formCSRF(rq)
	return s.render(rq, code, "ask", &view{Title: "网上咨询", Section: "ask", Data: d, Errs: errs, NoStore: d.Asked != nil || d.Question != nil})
}

// ask leaves a citizen's question, and shows its number and query code.
func (s *server) ask(rq *request) error {
	f := rq.r.PostForm
	resp, err := s.cfg.Supervision.AskQuestion(rq.citizenCtx(), &yizhanv1.AskQuestionRequest{ItemCode: f.Get("item_code"),
		Question: f.Get("question"), Contact: strings.TrimSpace(f.Get("contact"))})
	if err != nil {
		if errs, ok := fieldErrors(err, "", nil); ok {
			errs.labels = map[string]string{"item_code": "咨询事项", "question": "咨询内容", "contact": "联系电话"}
			return s.showAsk(rq, http.StatusBadRequest, &askData{Form: formValues{f}}, errs)
		}
		if st := status.Convert(err); st.Code() == codes.ResourceExhausted {
			var errs formErrors
			errs.addGeneral(orLocalized(st, "提交过于频繁，请稍后再试。"))
			return s.showAsk(rq, http.StatusTooManyRequests, &askData{Form: formValues{f}}, errs)
		}
		return err
	}
	return s.showAsk(rq, http.StatusOK, &askData{Form: formValues{url.Values{}}, Asked: resp}, formErrors{})
}

// askAnswer looks a question up with its number and query code.
func (s *server) askAnswer(rq *request) error {
	f := rq.r.PostForm
	id, code := strings.TrimSpace(f.Get("id")), strings.TrimSpace(f.Get("query_code"))
	var errs formErrors
	if id == "" {
		errs.add("id", "请填写咨询编号")
	}
	if !casework.ValidQueryCode(code) {
		errs.add("query_code", "查询码为 12 位字母和数字（如 7KQ9-M3XP-2WHD，不区分大小写）")
	}
	if errs.Any() {
		errs.labels = map[string]string{"id": "咨询编号", "query_code": "查询码"}
		return s.showAsk(rq, http.StatusBadRequest, &askData{Form: formValues{f}}, errs)
	}
	resp, err := s.cfg.Supervision.GetQuestion(rq.citizenCtx(), &yizhanv1.GetQuestionRequest{Id: id, QueryCode: code})
	if err != nil {
		st := status.Convert(err)
		switch st.Code() {
		case codes.NotFound, codes.InvalidArgument:
			errs.addGeneral("没有找到这条咨询：请核对咨询编号和查询码。")
		case codes.ResourceExhausted:
			errs.addGeneral(orLocalized(st, "查询过于频繁，请稍后再试。"))
		default:
			return err
		}
		return s.showAsk(rq, http.StatusNotFound, &askData{Form: formValues{f}}, errs)
	}
	return s.showAsk(rq, http.StatusOK, &askData{Form: formValues{url.Values{}}, Question: resp.GetConsultation()}, formErrors{})
}
