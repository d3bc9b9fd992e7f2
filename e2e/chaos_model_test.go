//go:build e2e && chaos

package e2e

import (
	"fmt"
	"math"
	"time"

	"github.com/anishathalye/porcupine"
)

// The registry as its clients see it, checked for linearizability with
// porcupine: chaosRegisters departments at the county, renamed one write
// at a time (the name is the register's value), read at any node with
// min_index at the highest index any client had been told of when the
// read began (a freshness bound below the county). A write acknowledged
// before a read began must be seen by it; a read may not see an older
// name than a read that ended before it began; a name never written is
// never read; a write whose answer never came may have happened at any
// time after its call, or not at all.
const chaosRegisters = 3

func registerCode(k int) string { return fmt.Sprintf("reg-%d", k) }

// registerOp is one read or write of a register, with the times its call
// went out and its answer came (Return -1: no answer).
type registerOp struct {
	Key          int
	Write        bool
	Value        string // written, or read
	Call, Return int64
}

type registerInput struct {
	write bool
	value string
}

// registerModel is a register per department whose first value is "v0".
var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[int][]porcupine.Operation{}
		for _, op := range history {
			byKey[op.ClientId] = append(byKey[op.ClientId], op)
		}
		var out [][]porcupine.Operation
		for _, ops := range byKey {
			out = append(out, ops)
		}
		return out
	},
	Init: func() any { return "v0" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(registerInput)
		if in.write {
			return true, in.value
		}
		return output.(string) == state.(string), state
	},
	Equal: func(a, b any) bool { return a.(string) == b.(string) },
	DescribeOperation: func(input, output any) string {
		in := input.(registerInput)
		if in.write {
			return "write " + in.value
		}
		return "read " + output.(string)
	},
}

// checkRegisters says why the history is not linearizable, "" when it is.
func checkRegisters(history []registerOp) string {
	ops := make([]porcupine.Operation, 0, len(history))
	for _, h := range history {
		ret := h.Return
		if ret < 0 {
			ret = math.MaxInt64 // may take effect at any time after its call
		}
		// ClientId carries the register: the partition is by key.
		ops = append(ops, porcupine.Operation{ClientId: h.Key, Input: registerInput{write: h.Write, value: h.Value},
			Call: h.Call, Output: h.Value, Return: ret})
	}
	switch porcupine.CheckOperationsTimeout(registerModel, ops, time.Minute) {
	case porcupine.Ok:
		return ""
	case porcupine.Illegal:
		return fmt.Sprintf("the registry's history (%d register operations) is not linearizable", len(ops))
	default:
		return fmt.Sprintf("porcupine could not decide on the registry's history of %d operations within a minute", len(ops))
	}
}
