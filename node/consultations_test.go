package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// A village cut off from the tree records consultations and takes a
// question online; once the link is back they reach the county, which
// counts them; the county answers the question and the citizen reads the
// answer at the village, with the query code.
func TestConsultationsThroughTheAPI(t *testing.T) {
	f := newCaseFed(t, 1)
	village := f.nodes["dongcun-1"]
	agent := dial(t, village).login("dongcun", password)
	citizen := dial(t, village)
	vsup := yizhanv1.NewSupervisionServiceClient(agent.conn)
	csup := yizhanv1.NewSupervisionServiceClient(f.admin.conn)

	f.links["dongcun-1"].Cut()
	// Bad input names its field and keeps nothing.
	for _, tc := range []struct {
		field string
		req   *yizhanv1.RecordConsultationRequest
	}{
		{"channel", &yizhanv1.RecordConsultationRequest{Channel: yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_ONLINE, Question: "q", Answer: "a"}},
		{"question", &yizhanv1.RecordConsultationRequest{Channel: yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE, Answer: "a"}},
		{"answer", &yizhanv1.RecordConsultationRequest{Channel: yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE, Question: "q"}},
		{"item_code", &yizhanv1.RecordConsultationRequest{Channel: yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE, Question: "q", Answer: "a", ItemCode: "NO-SUCH"}},
	} {
		_, err := vsup.RecordConsultation(agent.ctx(), tc.req)
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != tc.field {
			t.Errorf("%v: got %v on %q, want InvalidArgument on %q", tc.req, code, field, tc.field)
		}
	}
	if _, err := vsup.RecordConsultation(citizen.ctx(), &yizhanv1.RecordConsultationRequest{Channel: yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE, Question: "q", Answer: "a"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("a consultation recorded without signing in: %v", err)
	}

	// Offline: two consultations and a question.
	for _, req := range []*yizhanv1.RecordConsultationRequest{
		{Channel: yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_IN_PERSON, Question: "村里哪天可以办社保?", Answer: "每周二、周四。", RequestId: "zx-1"},
		{Channel: yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE, ItemCode: tobacco().Code, Question: "烟草证要什么材料?", Answer: "申请表和身份证。"},
	} {
		if _, err := vsup.RecordConsultation(agent.ctx(), req); err != nil {
			t.Fatal(err)
		}
	}
	// The same request again is the same consultation.
	if _, err := vsup.RecordConsultation(agent.ctx(), &yizhanv1.RecordConsultationRequest{Channel: yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_IN_PERSON,
		Question: "村里哪天可以办社保?", Answer: "每周二、周四。", RequestId: "zx-1"}); err != nil {
		t.Fatal(err)
	}
	csupCitizen := yizhanv1.NewSupervisionServiceClient(citizen.conn)
	if _, err := csupCitizen.AskQuestion(citizen.ctx(), &yizhanv1.AskQuestionRequest{Question: "q"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a question without an item: %v", err)
	}
	// Anyone may ask: what is not text, or too long, is refused, named,
	// and not echoed back.
	for field, req := range map[string]*yizhanv1.AskQuestionRequest{
		"question":    {ItemCode: tobacco().Code, Question: "开小卖部\x00\x1b[2J要办什么?"},
		"office_code": {ItemCode: tobacco().Code, Question: "开小卖部要办什么?", OfficeCode: strings.Repeat("4", 100_000)},
	} {
		_, err := csupCitizen.AskQuestion(citizen.ctx(), req)
		if code, got := fieldOf(err); code != codes.InvalidArgument || got != field || len(status.Convert(err).Message()) > 300 {
			t.Errorf("%s: %v, %d bytes of message", field, code, len(status.Convert(err).Message()))
		}
	}
	if _, err := vsup.RecordConsultation(agent.ctx(), &yizhanv1.RecordConsultationRequest{Channel: yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_IN_PERSON,
		Question: "社保？", Answer: "答\x1b[31m复"}); fieldReason(err) != reason.ControlCharacter {
		t.Errorf("an answer with a terminal's escape: %v", err)
	}
	asked, err := csupCitizen.AskQuestion(citizen.ctx(), &yizhanv1.AskQuestionRequest{ItemCode: tobacco().Code,
		Question: "开小卖部卖烟要办什么手续?", Contact: "13907710001", RequestId: "ask-1"})
	if err != nil {
		t.Fatal(err)
	}
	q := asked.GetConsultation()
	if q.GetAnswerOffice() != county || q.GetState() != yizhanv1.ConsultationState_CONSULTATION_STATE_ASKED || q.GetContact() == "13907710001" {
		t.Errorf("the question as asked: %v (the county answers; the phone masked)", q)
	}
	again, err := csupCitizen.AskQuestion(citizen.ctx(), &yizhanv1.AskQuestionRequest{ItemCode: tobacco().Code,
		Question: "开小卖部卖烟要办什么手续?", Contact: "13907710001", RequestId: "ask-1"})
	if err != nil || again.GetConsultation().GetId() != q.GetId() || again.GetQueryCode() != asked.GetQueryCode() {
		t.Errorf("the retried question: %v, %v; want %s with the same code", again, err, q.GetId())
	}
	got, err := csupCitizen.GetQuestion(citizen.ctx(), &yizhanv1.GetQuestionRequest{Id: q.GetId(), QueryCode: asked.GetQueryCode()})
	if err != nil || got.GetConsultation().GetState() != yizhanv1.ConsultationState_CONSULTATION_STATE_ASKED {
		t.Errorf("the question read while the village is cut off: %v, %v", got, err)
	}
	if _, err := vsup.ListConsultations(agent.ctx(), &yizhanv1.ListConsultationsRequest{From: "2026-03-10", To: "2026-03-01"}); func() bool {
		c, field := fieldOf(err)
		return c != codes.InvalidArgument || field != "to"
	}() {
		t.Errorf("consultations from 10 March to 1 March: %v, want to named", err)
	}
	if list, err := vsup.ListConsultations(agent.ctx(), &yizhanv1.ListConsultationsRequest{}); err != nil || len(list.GetConsultations()) != 3 {
		t.Errorf("the village lists %d consultations (%v), want 3", len(list.GetConsultations()), err)
	}

	countyBook := f.nodes["county-1"].Office().Cases()
	if _, ok := countyBook.Consultation(q.GetId()); ok {
		t.Fatal("the question crossed a cut link")
	}
	f.links["dongcun-1"].Restore()
	waitFor(t, "the consultations at the county", func() bool {
		cs, _, _ := countyBook.Consultations(casebook.ConsultationQuery{Office: dongcun})
		return len(cs) == 3
	}, 20*time.Second)

	clerk := dial(t, f.countyLeader()).login("clerk", password)
	ksup := yizhanv1.NewSupervisionServiceClient(clerk.conn)
	awaiting, err := ksup.ListConsultations(clerk.ctx(), &yizhanv1.ListConsultationsRequest{AwaitingAnswer: true})
	if err != nil || len(awaiting.GetConsultations()) != 1 || awaiting.GetConsultations()[0].GetId() != q.GetId() {
		t.Fatalf("the county's questions to answer: %v, %v", awaiting, err)
	}
	if _, err := vsup.AnswerQuestion(agent.ctx(), &yizhanv1.AnswerQuestionRequest{Id: q.GetId(), Answer: "x"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("the village answered the county's question: %v", err)
	}
	ans := &yizhanv1.AnswerQuestionRequest{Id: q.GetId(), Answer: "到县政务服务中心烟草窗口申请零售许可证。", RequestId: "answer-1"}
	for range 2 { // a retry answers the same
		r, err := ksup.AnswerQuestion(clerk.ctx(), ans)
		if err != nil || r.GetConsultation().GetAnsweredBy() != "clerk" {
			t.Fatalf("answer: %v, %v", r, err)
		}
		if len(r.GetConsultation().GetQueryCodeHash()) != 0 {
			t.Error("the answer's response holds the hash of the citizen's query code")
		}
	}
	// The hash of the citizen's code is no one's to guess against: the
	// staff who answer do not see it either.
	if len(awaiting.GetConsultations()[0].GetQueryCodeHash()) != 0 || len(q.GetQueryCodeHash()) != 0 {
		t.Error("the question, as listed or as asked, holds the hash of its query code")
	}
	if _, err := ksup.AnswerQuestion(clerk.ctx(), &yizhanv1.AnswerQuestionRequest{Id: q.GetId(), Answer: "again"}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("a second answer: %v", err)
	}

	// The citizen reads the answer at the village, where the question was left.
	got, err = csupCitizen.GetQuestion(citizen.ctx(), &yizhanv1.GetQuestionRequest{Id: q.GetId(), QueryCode: asked.GetQueryCode()})
	if err != nil || got.GetConsultation().GetAnswer() != ans.GetAnswer() || got.GetConsultation().GetContact() == "13907710001" {
		t.Errorf("the answer read at the village: %v, %v", got, err)
	}
	if _, err := csupCitizen.GetQuestion(citizen.ctx(), &yizhanv1.GetQuestionRequest{Id: q.GetId(), QueryCode: "2222-2222-2222"}); status.Code(err) != codes.NotFound {
		t.Errorf("a wrong query code: %v", err)
	}

	// The county's figures count the village's consultations once.
	today := time.Now().In(registry.CST).Format("2006-01-02")
	var st *yizhanv1.Statistics
	waitFor(t, "the answer counted", func() bool {
		st, err = csup.GetStatistics(f.admin.ctx(), &yizhanv1.GetStatisticsRequest{From: today, To: today, GroupBy: yizhanv1.Grouping_GROUPING_DEPARTMENT})
		return err == nil && st.GetTotal().GetQuestionsAnswered() == 1
	}, 10*time.Second)
	if tot := st.GetTotal(); tot.GetConsultations() != 3 || tot.GetConsultationsInPerson() != 1 || tot.GetConsultationsPhone() != 1 || tot.GetConsultationsOnline() != 1 {
		t.Errorf("the county's total: %d consultations (%d in person, %d phone, %d online), want 3 (1, 1, 1)", tot.GetConsultations(),
			tot.GetConsultationsInPerson(), tot.GetConsultationsPhone(), tot.GetConsultationsOnline())
	}
	rows := map[string]*yizhanv1.Figures{}
	for _, r := range st.GetRows() {
		rows[r.GetKey()] = r.GetFigures()
	}
	if rows["-"].GetConsultations() != 1 || rows["yc"].GetConsultations() != 2 {
		t.Errorf("by department: %d without an item, %d of yc; want 1, 2", rows["-"].GetConsultations(), rows["yc"].GetConsultations())
	}
	xicunAgent := dial(t, f.nodes["xicun-1"]).login("xicun", password)
	if _, err := yizhanv1.NewSupervisionServiceClient(xicunAgent.conn).ListConsultations(xicunAgent.ctx(), &yizhanv1.ListConsultationsRequest{OfficeCode: dongcun}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("another village's agent listed dongcun's consultations: %v", err)
	}
	for _, name := range []string{"county-1", "chengguan-1", "dongcun-1"} {
		f.checkBook(name, f.nodes[name])
	}
}

// A township, with its own key, cannot pass off consultations it did not
// record: one claiming a village's office, one answered by the county;
// neither leaves a trace at the county. One of its own is taken.
func TestForgedConsultationsAreRefused(t *testing.T) {
	f := newCaseFed(t, 1)
	countyNode := f.nodes["county-1"]
	tb := f.bundle(township, "chengguan-1")
	signer := auth.NewIssuer(tb.Signer(), tb.Certificate.Certificate, township, "chengguan-1", time.Hour, nil)
	now := time.Now()
	record := func(office, suffix string) *yizhanv1.Consultation {
		c := &yizhanv1.Consultation{Id: supervision.ConsultationID(office, now, suffix), OfficeCode: office,
			Channel: yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE, Question: "q", Answer: "a",
			State: yizhanv1.ConsultationState_CONSULTATION_STATE_ANSWERED, At: timestamppb.New(now), Version: 1}
		sig, err := signer.Sign(supervision.ConsultationHash(c))
		if err != nil {
			t.Fatal(err)
		}
		c.Signature, c.SignerChain = sig, signer.Chain()
		return c
	}
	answered := &yizhanv1.Consultation{Id: supervision.ConsultationID(township, now, "CCCCCC"), OfficeCode: township,
		Channel: yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_ONLINE, ItemCode: tobacco().Code, Question: "q",
		Answer: "a", State: yizhanv1.ConsultationState_CONSULTATION_STATE_ANSWERED, At: timestamppb.New(now),
		AnsweredAt: timestamppb.New(now), AnswerOffice: county, QueryCodeHash: []byte("h"), Version: 2}
	sig, _ := signer.Sign(supervision.ConsultationHash(answered))
	answered.Signature, answered.SignerChain = sig, signer.Chain()

	pc := newPeerClient(t, tb, countyNode.PeerAddr())
	for _, tc := range []struct {
		name string
		c    *yizhanv1.Consultation
		ok   bool
	}{
		{"a village's, signed by the township", record(dongcun, "AAAAAA"), false},
		{"answered by the county, signed by the township", answered, false},
		{"the township's own", record(township, "BBBBBB"), true},
	} {
		resp, err := pc.DeliverCases(context.Background(), &peerv1.DeliverCasesRequest{Messages: []*peerv1.CaseMessage{
			{CaseNumber: tc.c.GetId(), FromOffice: township, Consultation: tc.c}}})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		r := resp.GetReceipts()[0]
		if got := r.GetRefused() == ""; got != tc.ok {
			t.Errorf("%s: receipt %v", tc.name, r)
		}
		if _, held := countyNode.Office().Cases().Consultation(tc.c.GetId()); held != tc.ok {
			t.Errorf("%s: held at the county: %v", tc.name, held)
		}
	}
}
