package casebook

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/supervision"
)

// put applies a PutConsultation at the office's clock.
func (o *office) put(c *yizhanv1.Consultation) Result {
	o.t.Helper()
	o.index++
	o.now = o.now.Add(o.step)
	cmd := &peerv1.CaseCommand{AtUnixNano: o.now.UnixNano(), Op: &peerv1.CaseCommand_PutConsultation{PutConsultation: &peerv1.PutConsultation{Consultation: c}}}
	return o.book.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(), Cmd: cmd}}, o.index, o.reg)[0]
}

// deliver sends every outbox entry of from to to, as the mail does, and
// applies the receipts (acks). It returns the receipts.
func deliver(t *testing.T, from, to *office) []*peerv1.CaseReceipt {
	t.Helper()
	var msgs []*peerv1.CaseMessage
	var sent []*peerv1.OutboxEntry
	for _, en := range from.book.Outbox() {
		if en.GetDestOffice() != to.code {
			continue
		}
		m, ok := from.book.Message(en)
		if !ok {
			t.Fatalf("no message for %v", en)
		}
		msgs, sent = append(msgs, m), append(sent, en)
	}
	rc := receive(t, to, msgs...)
	var acks []*peerv1.OutboxEntry
	for i, r := range rc {
		if r.GetRefused() == "" && r.GetHaveSeq() >= sent[i].GetUptoSeq() {
			acks = append(acks, sent[i])
		}
	}
	from.index++
	cmd := &peerv1.CaseCommand{AtUnixNano: from.now.UnixNano(), Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{Acks: acks}}}
	if res := from.book.Apply([]Entry{{Index: from.index, At: from.now.UnixNano(), Cmd: cmd}}, from.index, from.reg)[0]; res.Err != nil {
		t.Fatal(res.Err)
	}
	return rc
}

func receive(t *testing.T, to *office, msgs ...*peerv1.CaseMessage) []*peerv1.CaseReceipt {
	t.Helper()
	to.index++
	cmd := &peerv1.CaseCommand{AtUnixNano: to.now.UnixNano(), Op: &peerv1.CaseCommand_Receive{Receive: &peerv1.ReceiveCaseMessages{Messages: msgs}}}
	res := to.book.Apply([]Entry{{Index: to.index, At: to.now.UnixNano(), Cmd: cmd}}, to.index, to.reg)[0]
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	return res.Value.(*peerv1.DeliverCasesResponse).GetReceipts()
}

func consultation(office string, at time.Time, suffix string, ch yizhanv1.ConsultationChannel) *yizhanv1.Consultation {
	c := &yizhanv1.Consultation{Id: supervision.ConsultationID(office, at, suffix), OfficeCode: office, Channel: ch,
		ItemCode: licence, DepartmentCode: "yc", Question: "烟草零售许可要带什么材料?", At: timestamppb.New(at), Version: 1,
		RecordedBy: "agent"}
	if ch == yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_ONLINE {
		c.State, c.AnswerOffice = yizhanv1.ConsultationState_CONSULTATION_STATE_ASKED, county
		c.QueryCodeHash = supervision.QuestionCodeHash(c.Id, "ABCDEFGHJKLM")
		c.RecordedBy = "citizen"
	} else {
		c.State, c.Answer = yizhanv1.ConsultationState_CONSULTATION_STATE_ANSWERED, "申请表和身份证。"
	}
	return c
}

// A village records a consultation and takes a question online while its
// link is down; once it is back both travel up through the township; the
// county answers the question; each book counts each consultation once,
// however often a copy arrives, and an older copy does not undo the answer.
func TestConsultationsTravelUpAndAreCountedOnce(t *testing.T) {
	reg := newRegistry(t)
	v, tw, c := newOffice(t, village, reg), newOffice(t, township, reg), newOffice(t, county, reg)

	inPerson := consultation(village, v.now, "AAAAAA", yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_IN_PERSON)
	question := consultation(village, v.now, "BBBBBB", yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_ONLINE)
	for _, x := range []*yizhanv1.Consultation{inPerson, question} {
		if res := v.put(x); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	if res := v.put(inPerson); res.Err == nil {
		t.Error("the same consultation was kept twice")
	}
	other := consultation(township, v.now, "CCCCCC", yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE)
	if res := v.put(other); res.Err == nil {
		t.Error("a village kept a consultation of the township's")
	}
	if got := len(v.book.Outbox()); got != 2 {
		t.Fatalf("the village's outbox holds %d entries, want 2", got)
	}

	for _, r := range deliver(t, v, tw) {
		if r.GetRefused() != "" || r.GetHaveSeq() != 1 {
			t.Fatalf("township receipt %v", r)
		}
	}
	if len(v.book.Outbox()) != 0 {
		t.Error("receipted entries stay in the village's outbox")
	}
	deliver(t, tw, c)
	if got, _, _ := c.book.Consultations(ConsultationQuery{Awaiting: true}); len(got) != 1 || got[0].GetId() != question.GetId() {
		t.Fatalf("the county awaits %v, want the question", got)
	}
	if got, _, _ := tw.book.Consultations(ConsultationQuery{Awaiting: true}); len(got) != 0 {
		t.Errorf("the township awaits %v: the county answers", got)
	}

	// The county answers.
	ans := proto.CloneOf(question)
	ans.Version, ans.State, ans.Answer = 2, yizhanv1.ConsultationState_CONSULTATION_STATE_ANSWERED, "带申请表。"
	ans.AnsweredAt, ans.AnsweredBy = timestamppb.New(c.now), "clerk"
	if res := tw.put(ans); res.Err == nil {
		t.Error("the township answered a question the county answers")
	}
	if res := c.put(ans); res.Err != nil {
		t.Fatal(res.Err)
	}
	changed := proto.CloneOf(ans)
	changed.Question = "别的问题"
	changed.Version = 3
	if res := c.put(changed); res.Err == nil {
		t.Error("an answer changed the question")
	}
	if got, _, _ := c.book.Consultations(ConsultationQuery{Awaiting: true}); len(got) != 0 {
		t.Errorf("the county still awaits %v", got)
	}
	// An older copy arrives late: it changes nothing, and is receipted.
	rc := receive(t, c, &peerv1.CaseMessage{CaseNumber: question.GetId(), FromOffice: township, Consultation: question})
	if rc[0].GetRefused() != "" || rc[0].GetHaveSeq() != 2 {
		t.Errorf("receipt of an older copy: %v", rc[0])
	}
	if held, _ := c.book.Consultation(question.GetId()); held.GetState() != yizhanv1.ConsultationState_CONSULTATION_STATE_ANSWERED {
		t.Error("an older copy undid the answer")
	}
	// A township cannot pass off a consultation of another township's.
	forged := consultation("450122102000", c.now, "DDDDDD", yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE)
	rc = receive(t, c, &peerv1.CaseMessage{CaseNumber: forged.GetId(), FromOffice: township, Consultation: forged})
	if !strings.Contains(rc[0].GetRefused(), "not office") {
		t.Errorf("a forged consultation: %v", rc[0])
	}

	figures := func(o *office, office string) *yizhanv1.Figures {
		sums, err := o.book.SumStats(RangeQuery{From: t0, To: t0, Office: office, Subtree: true}, func(Stat) string { return "all" })
		if err != nil {
			t.Fatal(err)
		}
		return supervision.Compute(sums["all"], nil)
	}
	f := figures(c, county)
	if f.GetConsultations() != 2 || f.GetConsultationsInPerson() != 1 || f.GetConsultationsOnline() != 1 || f.GetQuestionsAnswered() != 1 {
		t.Errorf("county figures: %d consultations (%d in person, %d online), %d answered; want 2 (1, 1), 1",
			f.GetConsultations(), f.GetConsultationsInPerson(), f.GetConsultationsOnline(), f.GetQuestionsAnswered())
	}
	if f := figures(c, village); f.GetConsultations() != 2 || f.GetQuestionsAnswered() != 0 {
		t.Errorf("the village's figures at the county: %d consultations, %d answered; want 2, 0 (the county answered)", f.GetConsultations(), f.GetQuestionsAnswered())
	}
	if f := figures(v, village); f.GetConsultations() != 2 {
		t.Errorf("the village counts %d consultations, want 2", f.GetConsultations())
	}
	if got, _, _ := c.book.Consultations(ConsultationQuery{Office: township, Subtree: true}); len(got) != 2 {
		t.Errorf("the county lists %d consultations of the township's subtree, want 2", len(got))
	}
	if got, _, _ := c.book.Consultations(ConsultationQuery{Office: township}); len(got) != 0 {
		t.Errorf("the county lists %d consultations of the township itself, want 0", len(got))
	}
	for _, o := range []*office{v, tw, c} {
		o.check()
	}
	checkNamesDamage(t, c.book, c.reg, pConsultationByOffice)
}

// supervise applies a SupervisionStep at the office's clock and answers the
// record after it.
func (o *office) supervise(s *peerv1.SupervisionStep) proto.Message {
	o.t.Helper()
	o.index++
	o.now = o.now.Add(o.step)
	cmd := &peerv1.CaseCommand{AtUnixNano: o.now.UnixNano(), Op: &peerv1.CaseCommand_Supervision{Supervision: s}}
	res := o.book.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(), Cmd: cmd}}, o.index, o.reg)[0]
	if res.Err != nil {
		o.t.Fatal(res.Err)
	}
	return res.Value
}

// The counters of follow-ups and orders are kept as the records change:
// a follow-up reopened and replied to again counts its first reply only.
func TestFollowUpAndOrderCounters(t *testing.T) {
	reg := newRegistry(t)
	c := newOffice(t, county, reg)
	number := c.file(licence, 1, Request{})
	if res := c.actAs(citizen, number, casework.ActionComplain, &yizhanv1.CaseActionRequest{Reason: "窗口让我跑了三趟"}); res.Err != nil {
		t.Fatal(res.Err)
	}
	fs, err := c.book.FollowUps(RecordQuery{})
	if err != nil || len(fs) != 1 {
		t.Fatalf("follow-ups %v, %v", fs, err)
	}
	id := fs[0].GetId()
	reply := func(text string) {
		c.supervise(&peerv1.SupervisionStep{Op: &peerv1.SupervisionStep_ReplyFollowUp{ReplyFollowUp: &peerv1.ReplyFollowUp{Id: id,
			Entry: &yizhanv1.FollowUpEntry{Actor: "clerk", OfficeCode: county, Text: text}}}})
	}
	reply("已整改")
	c.supervise(&peerv1.SupervisionStep{Op: &peerv1.SupervisionStep_RevisitFollowUp{RevisitFollowUp: &peerv1.RevisitFollowUp{Id: id,
		Entry: &yizhanv1.FollowUpEntry{Actor: "citizen", Text: "还是没解决"}}}})
	reply("再次整改")
	c.supervise(&peerv1.SupervisionStep{Op: &peerv1.SupervisionStep_IssueOrder{IssueOrder: &peerv1.IssueOrder{Order: &yizhanv1.SupervisionOrder{
		CaseNumber: number, Instruction: "说明情况", AnswerDays: 5, IssuedBy: "jiancha"}}}})

	sums, err := c.book.SumStats(RangeQuery{From: t0, To: c.now}, func(Stat) string { return "all" })
	if err != nil {
		t.Fatal(err)
	}
	f := supervision.Compute(sums["all"], nil)
	if f.GetFollowUps() != 1 || f.GetFollowUpsReplied() != 1 || f.GetFollowUpsRepliedInTime() != 1 || f.GetOrders() != 1 {
		t.Errorf("follow-ups %d, replied %d (in time %d), orders %d; want 1, 1 (1), 1",
			f.GetFollowUps(), f.GetFollowUpsReplied(), f.GetFollowUpsRepliedInTime(), f.GetOrders())
	}
	c.check()
	checkNamesDamage(t, c.book, c.reg, pRecordDue)
}
