package node

import (
	"context"

	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
)

// AnsweredBeforeForTest is what a handler of n answering with a T finds
// of the write method made with msg under request ID id (answeredBefore).
func AnsweredBeforeForTest[T proto.Message](n *Node, id, method string, msg proto.Message) (T, bool, error) {
	r, err := raftgroup.NewRequest(id, method, msg)
	if err != nil {
		var zero T
		return zero, false, err
	}
	return answeredBefore[T](context.Background(), n, r)
}

// PutZeroReportForTest is the office layer's zero report written under
// the request of method called with msg under id (no handler before it).
func PutZeroReportForTest(n *Node, id, method string, msg proto.Message, z *yizhanv1.ZeroReport) (*yizhanv1.ZeroReport, bool, error) {
	r, err := raftgroup.NewRequest(id, method, msg)
	if err != nil {
		return nil, false, err
	}
	return n.svc.PutZeroReport(context.Background(), r, z)
}
