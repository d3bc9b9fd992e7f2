//go:build e2e && chaos

package e2e

import (
	"fmt"
	"math"
	"testing"
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
	key   int
	write bool
	value string
}

// registerModel is the registers, starting from init (their names when
// the schedule began); an operation reads or writes one of them.
func registerModel(init [chaosRegisters]string) porcupine.Model {
	return porcupine.Model{
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
		Init: func() any { return init },
		Step: func(state, input, output any) (bool, any) {
			in, regs := input.(registerInput), state.([chaosRegisters]string)
			if in.write {
				regs[in.key] = in.value
				return true, regs
			}
			return output.(string) == regs[in.key], regs
		},
		Equal: func(a, b any) bool { return a.([chaosRegisters]string) == b.([chaosRegisters]string) },
		DescribeOperation: func(input, output any) string {
			in := input.(registerInput)
			if in.write {
				return fmt.Sprintf("write %s=%s", registerCode(in.key), in.value)
			}
			return fmt.Sprintf("read %s=%s", registerCode(in.key), output)
		},
	}
}

// checkRegisters says why the history, which began with the registers at
// init, is not linearizable; "" when it is.
func checkRegisters(init [chaosRegisters]string, history []registerOp) string {
	ops := make([]porcupine.Operation, 0, len(history))
	for _, h := range history {
		ret := h.Return
		if ret < 0 {
			ret = math.MaxInt64 // may take effect at any time after its call
		}
		// ClientId carries the register: the partition is by key.
		ops = append(ops, porcupine.Operation{ClientId: h.Key, Input: registerInput{key: h.Key, write: h.Write, value: h.Value},
			Call: h.Call, Output: h.Value, Return: ret})
	}
	switch porcupine.CheckOperationsTimeout(registerModel(init), ops, time.Minute) {
	case porcupine.Ok:
		return ""
	case porcupine.Illegal:
		return fmt.Sprintf("the registry's history (%d register operations) is not linearizable", len(ops))
	default:
		return fmt.Sprintf("porcupine could not decide on the registry's history of %d operations within a minute", len(ops))
	}
}

// The model refuses what it must: a read of an older name after a write
// was acknowledged, a name never written, two reads that go back; and
// takes a write without an answer as done or not.
func TestRegisterModel(t *testing.T) {
	init := [chaosRegisters]string{"v0", "v0", "v0"}
	w := func(k int, v string, call, ret int64) registerOp {
		return registerOp{Key: k, Write: true, Value: v, Call: call, Return: ret}
	}
	r := func(k int, v string, call, ret int64) registerOp {
		return registerOp{Key: k, Value: v, Call: call, Return: ret}
	}
	for _, c := range []struct {
		name    string
		history []registerOp
		ok      bool
	}{
		{"a read after the write sees it", []registerOp{w(0, "a", 0, 10), r(0, "a", 20, 30), r(1, "v0", 20, 30)}, true},
		{"a read during the write sees either", []registerOp{w(0, "a", 0, 10), r(0, "v0", 5, 6), r(0, "a", 7, 8)}, true},
		{"a stale read after the write", []registerOp{w(0, "a", 0, 10), r(0, "v0", 20, 30)}, false},
		{"a name never written", []registerOp{r(2, "zz", 0, 10)}, false},
		{"reads that go back", []registerOp{w(0, "a", 0, 100), r(0, "a", 10, 20), r(0, "v0", 30, 40)}, false},
		{"a write without an answer, seen", []registerOp{w(0, "a", 0, -1), r(0, "a", 50, 60)}, true},
		{"a write without an answer, not seen", []registerOp{w(0, "a", 0, -1), r(0, "v0", 50, 60)}, true},
	} {
		if why := checkRegisters(init, c.history); (why == "") != c.ok {
			t.Errorf("%s: %q, want linearizable=%v", c.name, why, c.ok)
		}
	}
}
