package node_test

import (
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// docs/ERRORS.md lists the reasons of a field (BadRequest.FieldViolation
// .reason); a client acts on them, and the web shows their zh-CN text by
// the field. The consultations' and the roster's refusals of a field
// carried reasons of a whole request (NOT_FOUND, PERMISSION_DENIED),
// whose text said nothing of the field ("您要找的内容不存在。"), or the
// wrong thing ("无权限：您的账号不能执行此操作。" of the leader named).
func TestFieldViolationsCarryFieldReasons(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.nodes["county-1"]).login("admin", password)
	sup := yizhanv1.NewSupervisionServiceClient(admin.conn)
	ro := yizhanv1.NewDutyRosterServiceClient(admin.conn)
	start := time.Now().Truncate(time.Minute).Add(6 * time.Hour)
	shift := func(leader string) *yizhanv1.PublishShiftsRequest {
		return &yizhanv1.PublishShiftsRequest{Shifts: []*yizhanv1.DutyShift{{Start: timestamppb.New(start), End: timestamppb.New(start.Add(12 * time.Hour)),
			Leader: leader, Officers: []string{"someone"}, DutyPhone: "0771-6201110"}}}
	}
	for _, tc := range []struct {
		name  string
		field string
		call  func() error
	}{
		{"a consultation about an item not in the catalogue", "item_code", func() error {
			_, err := sup.RecordConsultation(admin.ctx(), &yizhanv1.RecordConsultationRequest{Channel: yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE,
				ItemCode: "450122-NO-999", Question: "怎么办理？", Answer: "请到窗口咨询"})
			return err
		}},
		{"a shift led by no such staff member", "shifts[0].leader", func() error {
			_, err := ro.PublishShifts(admin.ctx(), shift("nobody"))
			return err
		}},
		{"a shift led by staff who is not a leader on duty", "shifts[0].leader", func() error {
			_, err := ro.PublishShifts(admin.ctx(), shift("admin"))
			return err
		}},
	} {
		err := tc.call()
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != tc.field {
			t.Errorf("%s: %v naming %q", tc.name, err, field)
			continue
		}
		for _, d := range status.Convert(err).Details() {
			br, ok := d.(*errdetails.BadRequest)
			if !ok {
				continue
			}
			fv := br.GetFieldViolations()[0]
			if def, ok := reason.Lookup(fv.GetReason()); !ok || !def.Field {
				t.Errorf("%s: field %s refused with %s, not a field reason of docs/ERRORS.md (zh-CN %q)", tc.name, fv.GetField(), fv.GetReason(), fv.GetLocalizedMessage().GetMessage())
			}
		}
	}
}
