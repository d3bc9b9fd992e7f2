package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// oneQuestion answers GetQuestion with q, and lists it among the month's
// consultations.
type oneQuestion struct {
	*formsSupervision
	q *yizhanv1.Consultation
}

func (o oneQuestion) GetQuestion(context.Context, *yizhanv1.GetQuestionRequest) (*yizhanv1.ConsultationResponse, error) {
	return &yizhanv1.ConsultationResponse{Consultation: o.q}, nil
}

func (o oneQuestion) ListConsultations(_ context.Context, req *yizhanv1.ListConsultationsRequest) (*yizhanv1.ListConsultationsResponse, error) {
	if req.GetAwaitingAnswer() {
		return &yizhanv1.ListConsultationsResponse{}, nil
	}
	return &yizhanv1.ListConsultationsResponse{Consultations: []*yizhanv1.Consultation{o.q}}, nil
}

// A citizen reads the answer to a question whose state this release
// does not know (a newer node's: 7), or that has none: the page says in
// Chinese what it can, the answer when there is one, never 尚未答复 of a
// question that may be closed, nor a raw enum name or an empty answer.
// The staff's list of the month's consultations says 其他 of a channel
// it does not know and — of an answer it does not hold.
func TestAQuestionInAStateThePageDoesNotKnow(t *testing.T) {
	asked := now.Add(-2 * time.Hour)
	for _, c := range []struct {
		name   string
		state  yizhanv1.ConsultationState
		answer string
		want   string
	}{
		{"asked", yizhanv1.ConsultationState_CONSULTATION_STATE_ASKED, "", "尚未答复，请稍后再查。"},
		{"answered", yizhanv1.ConsultationState_CONSULTATION_STATE_ANSWERED, "带上身份证即可。", "带上身份证即可。"},
		{"a newer state, no answer", 7, "", "这条咨询的办理情况暂时无法在此显示"},
		{"a newer state with an answer", 7, "已转县市场监管局办理。", "已转县市场监管局办理。"},
		{"no state", yizhanv1.ConsultationState_CONSULTATION_STATE_UNSPECIFIED, "", "这条咨询的办理情况暂时无法在此显示"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := &yizhanv1.Consultation{Id: "ZX-450122101203-20261127-ABC123", OfficeCode: village, Channel: 9, ItemName: "烟草专卖零售许可证核发",
				Question: "需要带什么材料？", State: c.state, Answer: c.answer, At: timestamppb.New(asked)}
			if c.answer != "" {
				q.AnsweredAt = timestamppb.New(asked.Add(time.Hour))
			}
			f := newFixture(t, func(cfg *Config) { cfg.Supervision = oneQuestion{&formsSupervision{}, q} })
			resp, page := f.do(t, "GET", "/ask", nil)
			form := url.Values{"csrf": {csrfOf(t, page)}, "id": {q.GetId()}, "query_code": {"7KQ9-M3XP-2WHD"}}
			resp, page = f.do(t, "POST", "/ask/answer", form, cookieOf(resp, preCookie))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/ask/answer: %s\n%s", resp.Status, page)
			}
			answer := section(t, page, `id="ask-answer"`)
			answer = answer[:strings.Index(answer, "</dd>")]
			if !strings.Contains(answer, c.want) {
				t.Errorf("the answer reads %q, want %q", answer, c.want)
			}
			if c.state != yizhanv1.ConsultationState_CONSULTATION_STATE_ASKED && strings.Contains(answer, "尚未答复") {
				t.Errorf("a question in state %d says 尚未答复: %q", c.state, answer)
			}
			if strings.Contains(page, "CONSULTATION_STATE") || strings.Contains(answer, "<br><small> 答复") {
				t.Errorf("the answer shows a raw state or an empty time: %q", answer)
			}

			_, page = f.do(t, "GET", "/consultations", nil, session(adminClerkToken))
			row := section(t, page, `id="recent"`)
			row = row[strings.Index(row, "<tbody>"):]
			cells := strings.Split(row[:strings.Index(row, "</tr>")], "<td>")
			if len(cells) < 7 {
				t.Fatalf("the month's consultations: %s", row)
			}
			if ch := strings.TrimSuffix(cells[3], "</td>"); ch != "其他" {
				t.Errorf("a channel this release does not know reads %q, want 其他", ch)
			}
			if ans := strings.TrimSuffix(cells[6], "</td>"); ans == "" {
				t.Error("the list's answer cell is empty")
			}
		})
	}
}
