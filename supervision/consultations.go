package supervision

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// Consultations (咨询登记): recorded by window staff or a village agent
// with the answer given, or left online by a citizen and answered by the
// office that holds the item's accept right. Each is kept in the book of
// the office where it came in and carried up the tree like a case's
// mirror (version 1); an answer to a question left online is made where
// the question is answered (version 2) and carried up from there. A copy
// with a higher version replaces a lower one; nothing else changes.

// The counters of consultations (see the other outcomes in figures.go).
const (
	// ConsultedPrefix + the channel (in_person, phone, online): a
	// consultation, at the office where it came in, on its day.
	ConsultedPrefix = "consulted_"
	// QuestionsAnswered is a question left online answered, at the
	// office that answered, on the day of the answer.
	QuestionsAnswered = "questions_answered"
)

// ConsultedOutcome is the counter of consultations that came in by ch.
func ConsultedOutcome(ch yizhanv1.ConsultationChannel) string {
	return ConsultedPrefix + strings.ToLower(strings.TrimPrefix(ch.String(), "CONSULTATION_CHANNEL_"))
}

// consultationPrefix starts every consultation's id; a case number
// (<office>-<YYYYMMDD>-<seq>) never has four parts.
const consultationPrefix = "ZX-"

// ConsultationID is the id of a consultation that came in at office on
// the day of at, with a suffix of the proposer's randomness.
func ConsultationID(office string, at time.Time, suffix string) string {
	return consultationPrefix + office + "-" + at.In(registry.CST).Format("20060102") + "-" + suffix
}

// IsConsultationID reports whether s names a consultation (and not a
// case): the outbox carries both under the same key.
func IsConsultationID(s string) bool {
	return strings.HasPrefix(s, consultationPrefix) && strings.Count(s, "-") == 3
}

// QuestionCodeHash is what a question left online keeps of its query
// code: the id is in it, so one computation tests one question.
func QuestionCodeHash(id, code string) []byte {
	h := sha256.New()
	h.Write([]byte("yizhan-question-v1\x00"))
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write([]byte(code))
	return h.Sum(nil)
}

// ConsultationHash is what a consultation's signature signs: the record
// without its signature, marshalled deterministically.
func ConsultationHash(c *yizhanv1.Consultation) []byte {
	u := proto.CloneOf(c)
	u.Signature, u.SignerChain = nil, nil
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(u)
	sum := sha256.Sum256(b)
	return sum[:]
}

// Signer is the office whose node must have signed c: the one that
// answered a question, else the one where it came in.
func Signer(c *yizhanv1.Consultation) string {
	if c.GetVersion() >= 2 {
		return c.GetAnswerOffice()
	}
	return c.GetOfficeCode()
}

// CheckConsultation checks that c is a well-formed record: a question
// online is asked (version 1, no answer, an answering office and a query
// code) or answered (version 2); one in person or by phone is recorded
// with its answer (version 1).
func CheckConsultation(c *yizhanv1.Consultation) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("consultation %s: %s", c.GetId(), fmt.Sprintf(format, args...))
	}
	if !IsConsultationID(c.GetId()) || !strings.HasPrefix(c.GetId(), consultationPrefix+c.GetOfficeCode()+"-") {
		return bad("the id does not name office %s", c.GetOfficeCode())
	}
	if strings.TrimSpace(c.GetQuestion()) == "" || c.GetAt() == nil {
		return bad("no question or no time")
	}
	switch c.GetChannel() {
	case yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_IN_PERSON, yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE:
		if c.GetVersion() != 1 || c.GetState() != yizhanv1.ConsultationState_CONSULTATION_STATE_ANSWERED || strings.TrimSpace(c.GetAnswer()) == "" {
			return bad("a consultation in person or by phone is recorded once, with its answer")
		}
	case yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_ONLINE:
		if c.GetAnswerOffice() == "" || len(c.GetQueryCodeHash()) == 0 || c.GetItemCode() == "" {
			return bad("a question online names its item, the office that answers and a query code")
		}
		if !registry.IsAncestorOrSelf(c.GetAnswerOffice(), c.GetOfficeCode()) {
			return bad("office %s, which answers, is not on the path up from %s", c.GetAnswerOffice(), c.GetOfficeCode())
		}
		switch c.GetVersion() {
		case 1:
			if c.GetState() != yizhanv1.ConsultationState_CONSULTATION_STATE_ASKED || c.GetAnswer() != "" {
				return bad("a question is asked without an answer")
			}
		case 2:
			if c.GetState() != yizhanv1.ConsultationState_CONSULTATION_STATE_ANSWERED || strings.TrimSpace(c.GetAnswer()) == "" || c.GetAnsweredAt() == nil {
				return bad("an answered question holds its answer and when")
			}
		default:
			return bad("version %d", c.GetVersion())
		}
	default:
		return bad("unknown channel %v", c.GetChannel())
	}
	return nil
}

// Replaces reports whether next may replace held, the copy kept: the same
// consultation, a higher version, and nothing of what came in changed.
func Replaces(next, held *yizhanv1.Consultation) error {
	if next.GetVersion() <= held.GetVersion() {
		return fmt.Errorf("consultation %s: version %d does not follow %d", next.GetId(), next.GetVersion(), held.GetVersion())
	}
	same := next.GetId() == held.GetId() && next.GetOfficeCode() == held.GetOfficeCode() &&
		next.GetChannel() == held.GetChannel() && next.GetItemCode() == held.GetItemCode() &&
		next.GetQuestion() == held.GetQuestion() && next.GetAnswerOffice() == held.GetAnswerOffice() &&
		next.GetAt().AsTime().Equal(held.GetAt().AsTime()) && bytes.Equal(next.GetQueryCodeHash(), held.GetQueryCodeHash())
	if !same {
		return fmt.Errorf("consultation %s: the answer changes what was asked", next.GetId())
	}
	return nil
}
