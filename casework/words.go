package casework

import yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"

// DecisionWords are the words of a decision for a type of item: 准予/不予
// 许可 belong to licences alone (行政许可法); a registration is confirmed,
// a benefit given, a dispute decided, an award granted, any other item
// handled (办理通过/不予办理). Never 「不予准予」. The web UI's pages and
// documents and the appeal notice say them.
type DecisionWords struct {
	Yes, No       string // the decision: 准予行政许可, 不予行政许可
	YesDoc, NoDoc string // its document: 准予行政许可决定书, 不予行政许可决定书
}

var decisionWordsByType = map[yizhanv1.ItemType]DecisionWords{
	yizhanv1.ItemType_ITEM_TYPE_LICENCE:      {"准予行政许可", "不予行政许可", "准予行政许可决定书", "不予行政许可决定书"},
	yizhanv1.ItemType_ITEM_TYPE_CONFIRMATION: {"予以确认", "不予确认", "行政确认决定书", "不予确认决定书"},
	yizhanv1.ItemType_ITEM_TYPE_BENEFIT:      {"准予给付", "不予给付", "行政给付决定书", "不予给付决定书"},
	yizhanv1.ItemType_ITEM_TYPE_ADJUDICATION: {"作出裁决", "不予裁决", "行政裁决书", "不予裁决决定书"},
	yizhanv1.ItemType_ITEM_TYPE_AWARD:        {"予以奖励", "不予奖励", "行政奖励决定书", "不予奖励决定书"},
}

// otherDecisionWords are the words of the other items (公共服务, 其他行政
// 权力, an item whose type is not known here).
var otherDecisionWords = DecisionWords{"办理通过", "不予办理", "办理结果通知书", "不予办理通知书"}

// WordsOf returns the decision words of an item type.
func WordsOf(t yizhanv1.ItemType) DecisionWords {
	if w, ok := decisionWordsByType[t]; ok {
		return w
	}
	return otherDecisionWords
}
