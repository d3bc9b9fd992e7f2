package supervision

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The outcomes the case book counts (casebook's counters, per day, month
// and year × office × item × department), each added to when an event is
// stored, at the office that appended the event unless said otherwise.
// docs/SUPERVISION.md defines the figures made of them.
const (
	Received         = "received"          // FILED: a case taken in (收件); an online filing when its pre-check takes it up
	Accepted         = "accepted"          // ACCEPTED (受理)
	Refused          = "refused"           // REFUSED (不予受理)
	Decided          = "decided"           // DECIDED (办结: 准予 or 不予许可)
	Approved         = "approved"          // DECIDED, approved
	Denied           = "denied"            // DECIDED, denied
	DecidedImmediate = "decided_immediate" // DECIDED, an immediate case (即办件)
	DecidedPromised  = "decided_promised"  // DECIDED, a case with a promised limit (承诺件)
	// DecidedSameDay is a case decided on the day it was accepted (China
	// Standard Time), counted at the office that accepted it, on that day.
	DecidedSameDay  = "decided_same_day"
	DecidedInTime   = "decided_in_time" // DECIDED by the promised due time
	DecidedOverdue  = "decided_overdue" // DECIDED after it
	StatutoryDays   = "statutory_days"  // Σ statutory limit over 承诺件 decided
	PromisedDays    = "promised_days"   // Σ promised limit over 承诺件 decided
	WorkingDaysUsed = "working_days_used"
	Withdrawn       = "withdrawn"
	// WithdrawnCorrectionLapsed: WITHDRAWN by staff because the correction
	// notice's wait was over (逾期未补正), counted in Withdrawn too.
	WithdrawnCorrectionLapsed = "withdrawn_correction_lapsed"
	Delivered                 = "delivered"
	Complained                = "complained"
	RatedPrefix               = "rated_" // + the rating's level: rated_very_satisfied, …
	CardPrefix                = "card_"  // + the rule: card_overdue, … (cards by their time and responsible office)
)

// The counts of the county's records (follow-ups and orders), kept in
// the county's book as the records change: at the responsible office, on
// the day of the step.
const (
	FollowUpsOpened        = "follow_ups"                 // opened (the complaint's or rating's time)
	FollowUpsReplied       = "follow_ups_replied"         // first replies
	FollowUpsRepliedInTime = "follow_ups_replied_in_time" // first replies by the first due time
	OrdersIssued           = "orders"
)

// CountyRecordRules are the card rules only the county's book issues:
// they are earned by its records (a follow-up or an order left late),
// which no other book holds.
var CountyRecordRules = []yizhanv1.CardRule{yizhanv1.CardRule_CARD_RULE_FOLLOW_UP_LATE, yizhanv1.CardRule_CARD_RULE_ORDER_LATE}

// CountyCardsNote says, in the users' words, which cards figures f count
// that only the county's book lists (CountyRecordRules), for an office
// below the county whose card list is its own book's: "" when none.
func CountyCardsNote(f *yizhanv1.Figures) string {
	var parts []string
	for _, cc := range f.GetCards() {
		if slices.Contains(CountyRecordRules, cc.GetRule()) && cc.GetCount() > 0 {
			parts = append(parts, fmt.Sprintf("%s %d 张", RuleName(cc.GetRule()), cc.GetCount()))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "另有由县级记录的" + strings.Join(parts, "、") + "，已计入红牌、黄牌数，明细请在县级监察页查看。"
}

// IsCountyRecord reports whether outcome is counted in the county's book
// alone: the follow-ups', the orders' and the cards of CountyRecordRules.
// A book below the county never holds such a counter; the figures an
// office below reads take them from the county (node's GetStatistics).
func IsCountyRecord(outcome string) bool {
	switch outcome {
	case FollowUpsOpened, FollowUpsReplied, FollowUpsRepliedInTime, OrdersIssued:
		return true
	}
	for _, r := range CountyRecordRules {
		if outcome == CardOutcome(r) {
			return true
		}
	}
	return false
}

// CountyRecordCounters are the counters of the county's records
// (IsCountyRecord) that figures f were computed from: Compute's inverse
// for them, so that figures read from the county add to counters read
// here.
func CountyRecordCounters(f *yizhanv1.Figures) Counters {
	c := Counters{}
	put := func(outcome string, n uint64) {
		if n > 0 {
			c[outcome] = n
		}
	}
	put(FollowUpsOpened, f.GetFollowUps())
	put(FollowUpsReplied, f.GetFollowUpsReplied())
	put(FollowUpsRepliedInTime, f.GetFollowUpsRepliedInTime())
	put(OrdersIssued, f.GetOrders())
	for _, cc := range f.GetCards() {
		if IsCountyRecord(CardOutcome(cc.GetRule())) {
			put(CardOutcome(cc.GetRule()), cc.GetCount())
		}
	}
	return c
}

// RatedOutcome is the counter of rating r.
func RatedOutcome(r yizhanv1.Rating) string {
	return RatedPrefix + strings.ToLower(strings.TrimPrefix(r.String(), "RATING_"))
}

// CardOutcome is the counter of cards of rule r.
func CardOutcome(r yizhanv1.CardRule) string {
	return CardPrefix + strings.ToLower(strings.TrimPrefix(r.String(), "CARD_RULE_"))
}

// Counters are outcome → value, summed over what a row of figures covers.
type Counters map[string]uint64

// Add adds d to c.
func (c Counters) Add(d Counters) {
	for k, v := range d {
		c[k] += v
	}
}

// Day is one day's acceptances and same-day decisions (the daily series
// of the book), for the average of the daily same-day rate.
type Day struct {
	Date              time.Time
	Accepted, SameDay uint64
}

// Compute makes the figures of counters c and the daily series days (nil:
// the average of the daily rate is left out). A rate with nothing to
// divide by is left out too. docs/SUPERVISION.md says what
// each is.
func Compute(c Counters, days []Day) *yizhanv1.Figures {
	f := &yizhanv1.Figures{
		Received: c[Received], Accepted: c[Accepted], Refused: c[Refused],
		Decided: c[Decided], Approved: c[Approved], Denied: c[Denied],
		ImmediateDecided: c[DecidedImmediate], PromisedDecided: c[DecidedPromised],
		SameDayDecided: c[DecidedSameDay], InTimeDecided: c[DecidedInTime], OverdueDecided: c[DecidedOverdue],
		StatutoryDays: c[StatutoryDays], PromisedDays: c[PromisedDays], WorkingDaysUsed: c[WorkingDaysUsed],
		Withdrawn: c[Withdrawn], Delivered: c[Delivered], Complaints: c[Complained],
		RatedVerySatisfied:      c[RatedOutcome(yizhanv1.Rating_RATING_VERY_SATISFIED)],
		RatedSatisfied:          c[RatedOutcome(yizhanv1.Rating_RATING_SATISFIED)],
		RatedBasicallySatisfied: c[RatedOutcome(yizhanv1.Rating_RATING_BASICALLY_SATISFIED)],
		RatedDissatisfied:       c[RatedOutcome(yizhanv1.Rating_RATING_DISSATISFIED)],
		RatedVeryDissatisfied:   c[RatedOutcome(yizhanv1.Rating_RATING_VERY_DISSATISFIED)],
	}
	f.FollowUps, f.FollowUpsReplied, f.FollowUpsRepliedInTime = c[FollowUpsOpened], c[FollowUpsReplied], c[FollowUpsRepliedInTime]
	f.FollowUpInTimeRate = ratio(f.FollowUpsRepliedInTime, f.FollowUpsReplied)
	f.Orders = c[OrdersIssued]
	f.ConsultationsInPerson = c[ConsultedOutcome(yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_IN_PERSON)]
	f.ConsultationsPhone = c[ConsultedOutcome(yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE)]
	f.ConsultationsOnline = c[ConsultedOutcome(yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_ONLINE)]
	f.Consultations = f.ConsultationsInPerson + f.ConsultationsPhone + f.ConsultationsOnline
	f.QuestionsAnswered = c[QuestionsAnswered]
	f.WithdrawnCorrectionLapsed = c[WithdrawnCorrectionLapsed]
	f.SameDayRate = ratio(f.SameDayDecided, f.Accepted)
	f.InTimeRate = ratio(f.InTimeDecided, f.Decided)
	if f.StatutoryDays > 0 {
		f.PromiseSpeedup = proto.Float64(1 - float64(f.PromisedDays)/float64(f.StatutoryDays))
		f.HandlingSpeedup = proto.Float64(1 - float64(f.WorkingDaysUsed)/float64(f.StatutoryDays))
	}
	f.AverageWorkingDays = ratio(f.WorkingDaysUsed, f.PromisedDecided)
	f.Ratings = f.RatedVerySatisfied + f.RatedSatisfied + f.RatedBasicallySatisfied + f.RatedDissatisfied + f.RatedVeryDissatisfied
	f.SatisfactionRate = ratio(f.RatedVerySatisfied+f.RatedSatisfied+f.RatedBasicallySatisfied, f.Ratings)
	var sum float64
	n := 0
	for _, d := range days {
		if d.Accepted > 0 {
			sum += float64(d.SameDay) / float64(d.Accepted)
			n++
		}
	}
	if n > 0 {
		f.AverageDailySameDayRate = proto.Float64(sum / float64(n))
	}
	for r := yizhanv1.CardRule(1); ; r++ {
		if _, ok := yizhanv1.CardRule_name[int32(r)]; !ok {
			break
		}
		n := c[CardOutcome(r)]
		if n == 0 {
			continue
		}
		f.Cards = append(f.Cards, &yizhanv1.CardCount{Rule: r, Count: n})
		if ColourOf(r) == yizhanv1.CardColour_CARD_COLOUR_RED {
			f.RedCards += n
		} else {
			f.YellowCards += n
		}
	}
	return f
}

// ratio is a / b, or nil (no rate: absent from the figures, not 0%)
// when there is nothing to divide by.
func ratio(a, b uint64) *float64 {
	if b == 0 {
		return nil
	}
	return proto.Float64(float64(a) / float64(b))
}
