package node_test

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A registry write holding a field this release does not know, sent by a
// client built on a later release, or passed up by a village node of a
// later release (villages are upgraded first) to its county's peer port
// with the client's token, is refused: InvalidArgument, UNKNOWN_FIELD
// naming the field's number. The county writes nothing, rather than the
// department without the field; the same write without it is done.
func TestTheCountyRefusesAWriteHoldingAFieldOfALaterRelease(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	leader := f.countyLeader()
	admin := dial(t, leader).login("admin", password)
	later := func(code string) *yizhanv1.CreateDepartmentRequest {
		d := &yizhanv1.Department{Code: code, Name: "数据局"}
		d.ProtoReflect().SetUnknown(protowire.AppendBytes(protowire.AppendTag(nil, 40, protowire.BytesType), []byte("新字段")))
		return &yizhanv1.CreateDepartmentRequest{Department: d}
	}
	viaPeerPort := yizhanv1.NewRegistryServiceClient(peerConn(t, leader, f.bundle(dongcun, "dongcun-1"), county))
	for _, c := range []struct {
		name string
		reg  yizhanv1.RegistryServiceClient
		code string
	}{{"a client of a later release", admin.reg, "450122-sjj"}, {"a village node of a later release", viaPeerPort, "450122-sjj2"}} {
		_, err := c.reg.CreateDepartment(admin.ctx(), later(c.code))
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("%s: %v; want InvalidArgument", c.name, err)
		}
		if v := fieldViolation(err); v.GetField() != "department.40" || v.GetReason() != "UNKNOWN_FIELD" {
			t.Errorf("%s: refused for %q (%s); want department.40 (UNKNOWN_FIELD)", c.name, v.GetField(), v.GetReason())
		}
		if _, err := leader.Registry().Department(c.code); err == nil {
			t.Errorf("%s: the department was written without the field", c.name)
		}
	}
	if _, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "450122-sjj", Name: "数据局"}}); err != nil {
		t.Errorf("the write without the field: %v", err)
	}
}

// fieldViolation is err's first field violation, nil when none.
func fieldViolation(err error) *errdetails.BadRequest_FieldViolation {
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return br.GetFieldViolations()[0]
		}
	}
	return nil
}
