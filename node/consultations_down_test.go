package node_test

import (
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
)

// A citizen leaves a question at 东村 about the tobacco licence; the
// county answers it. The village agent's 咨询登记 page lists the
// village's consultations of the month (ListConsultations of its own
// office): the question read 待答复 there for ever after the county
// answered it (answers went up only); the answer now comes down through
// the township to the village, and the township holds it too.
func TestTheVillageListShowsTheCountysAnswer(t *testing.T) {
	f := newCaseFed(t, 1)
	village := f.nodes["dongcun-1"]
	agent := dial(t, village).login("dongcun", password)
	citizen := dial(t, village)
	asked, err := yizhanv1.NewSupervisionServiceClient(citizen.conn).AskQuestion(citizen.ctx(), &yizhanv1.AskQuestionRequest{
		ItemCode: tobacco().Code, Question: "开小卖部卖烟要办什么手续?"})
	if err != nil {
		t.Fatal(err)
	}
	id := asked.GetConsultation().GetId()
	countyBook := f.nodes["county-1"].Office().Cases()
	waitFor(t, "the question at the county", func() bool {
		cs, _, _ := countyBook.Consultations(casebook.ConsultationQuery{Office: dongcun})
		return len(cs) == 1
	}, 20*time.Second)
	clerk := dial(t, f.countyLeader()).login("clerk", password)
	if _, err := yizhanv1.NewSupervisionServiceClient(clerk.conn).AnswerQuestion(clerk.ctx(),
		&yizhanv1.AnswerQuestionRequest{Id: id, Answer: "到县政务服务中心烟草窗口申请。"}); err != nil {
		t.Fatal(err)
	}
	vsup := yizhanv1.NewSupervisionServiceClient(agent.conn)
	var state yizhanv1.ConsultationState
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		list, err := vsup.ListConsultations(agent.ctx(), &yizhanv1.ListConsultationsRequest{OfficeCode: dongcun})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list.GetConsultations() {
			if c.GetId() == id {
				state = c.GetState()
			}
		}
		if state == yizhanv1.ConsultationState_CONSULTATION_STATE_ANSWERED {
			if c, ok := f.nodes["chengguan-1"].Office().Cases().Consultation(id); !ok || c.GetState() != state {
				t.Errorf("the township between holds question %s as %v", id, c.GetState())
			}
			for _, name := range []string{"county-1", "chengguan-1", "dongcun-1"} {
				f.checkBook(name, f.nodes[name])
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("10 s after the county answered, the village's list still shows question %s as %v (待答复)", id, state)
}
