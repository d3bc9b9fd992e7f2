package node

import (
	"context"

	"google.golang.org/protobuf/proto"

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
