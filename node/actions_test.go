package node

import (
	"slices"
	"testing"

	"github.com/yizhan-gov/yizhan/casework"
)

// The node forwards each action staff or the citizen may ask for (the
// rule table's) with its client method, and has a method for no other.
func TestCaseActionRPCsAreTheRuleTablesActions(t *testing.T) {
	asked := casework.AskedActions()
	for _, a := range asked {
		if actionRPCs[a] == nil {
			t.Errorf("the rule table lets %s be asked for: actionRPCs has no client method for it", a)
		}
	}
	for a := range actionRPCs {
		if !slices.Contains(asked, a) {
			t.Errorf("actionRPCs has a client method for %s, which the rule table lets no one ask for", a)
		}
	}
}
