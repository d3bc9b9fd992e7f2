package supervision

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

func TestConsultationRecords(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	const village, county = "450122101203", "450122000000"
	phone := &yizhanv1.Consultation{Id: ConsultationID(village, at, "ABCDEF"), OfficeCode: village,
		Channel: yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE, Question: "q", Answer: "a",
		State: yizhanv1.ConsultationState_CONSULTATION_STATE_ANSWERED, At: timestamppb.New(at), Version: 1}
	asked := &yizhanv1.Consultation{Id: ConsultationID(village, at, "GHJKLM"), OfficeCode: village,
		Channel: yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_ONLINE, ItemCode: "YC", Question: "q",
		State: yizhanv1.ConsultationState_CONSULTATION_STATE_ASKED, At: timestamppb.New(at), Version: 1,
		AnswerOffice: county, QueryCodeHash: QuestionCodeHash("x", "y")}
	answered := proto.CloneOf(asked)
	answered.Version, answered.State, answered.Answer, answered.AnsweredAt = 2, yizhanv1.ConsultationState_CONSULTATION_STATE_ANSWERED, "a", timestamppb.New(at)

	if got := phone.GetId(); got != "ZX-450122101203-20261201-ABCDEF" || !IsConsultationID(got) || IsConsultationID("450122101203-20261201-0001") {
		t.Errorf("id %q, or a case number taken for a consultation", got)
	}
	for _, c := range []*yizhanv1.Consultation{phone, asked, answered} {
		if err := CheckConsultation(c); err != nil {
			t.Errorf("a good record refused: %v", err)
		}
	}
	bad := map[string]func(*yizhanv1.Consultation){
		"no answer by phone":          func(c *yizhanv1.Consultation) { c.Answer = " " },
		"an id of another office":     func(c *yizhanv1.Consultation) { c.OfficeCode = county },
		"no question":                 func(c *yizhanv1.Consultation) { c.Question = "" },
		"version 2 by phone":          func(c *yizhanv1.Consultation) { c.Version = 2 },
		"online, no office to answer": func(c *yizhanv1.Consultation) { c.Channel = yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_ONLINE },
	}
	for name, mod := range bad {
		c := proto.CloneOf(phone)
		mod(c)
		if CheckConsultation(c) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	below := proto.CloneOf(asked)
	below.AnswerOffice = "450122101204" // a neighbouring village, not on the path up
	if CheckConsultation(below) == nil {
		t.Error("a question answered off the path up was accepted")
	}
	if Signer(asked) != village || Signer(answered) != county {
		t.Errorf("signers %s, %s", Signer(asked), Signer(answered))
	}
	if err := Replaces(answered, asked); err != nil {
		t.Errorf("the answer does not replace the question: %v", err)
	}
	if Replaces(asked, answered) == nil {
		t.Error("the question replaces its answer")
	}
	changed := proto.CloneOf(answered)
	changed.Question = "another"
	if Replaces(changed, asked) == nil {
		t.Error("an answer that changes the question replaces it")
	}
	if ConsultationHash(answered) == nil || string(ConsultationHash(answered)) == string(ConsultationHash(asked)) {
		t.Error("the answer signs the same bytes as the question")
	}
	if got := ConsultedOutcome(yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_IN_PERSON); got != "consulted_in_person" {
		t.Errorf("outcome %q", got)
	}
}
