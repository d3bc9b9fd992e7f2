package mail

import (
	"fmt"
	"strings"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
)

// Mail between offices of different releases (federation/DESIGN.md,
// "Mixed releases"). The offices are upgraded villages first, so an
// office above may run the release before its children's for a while,
// and a village left behind may run it for weeks. A later release may
// carry up a kind of record this one does not know (a new field of
// CaseMessage: this release reads a message with no record and no
// events, the record kept as an unknown field), or a case event of a
// type it does not know (a number EventType does not declare). Taken in,
// the first would be refused for carrying nothing and the second for its
// state (a refusal that lasts an hour sets the message aside); so the
// receiver refuses both at once saying what it does not know, with
// CaseReceipt.unknown_kind set, and the sender holds such a message back
// without ever setting it aside: it goes through once the receiver runs
// the later release.

// laterKind is why message m holds a kind of record or of case event
// this release does not know, "" when it holds none.
func laterKind(office string, m *peerv1.CaseMessage) string {
	upgrade := fmt.Sprintf("office %s runs an earlier release than the sender: the sender keeps the message until it is upgraded", office)
	if unknown := raftgroup.LaterFields(m.ProtoReflect()); len(unknown) > 0 && casebook.Records(m) == 0 && len(m.GetEvents()) == 0 {
		return fmt.Sprintf("message %s carries a kind of record this release does not know (CaseMessage %s): %s",
			m.GetCaseNumber(), raftgroup.UnknownFields(unknown), upgrade)
	}
	for _, e := range m.GetEvents() {
		if _, known := yizhanv1.EventType_name[int32(e.GetType())]; !known {
			return fmt.Sprintf("case %s seq %d is an event of type %d, which this release does not know: %s",
				m.GetCaseNumber(), e.GetSeq(), int32(e.GetType()), upgrade)
		}
	}
	if why := raftgroup.UnknownKind(m, false); why != "" {
		return fmt.Sprintf("message %s: %s: %s", m.GetCaseNumber(), why, upgrade)
	}
	return ""
}

// beforeRecords reports whether why, the refusal of message m, is that
// of an office on a release from before the mail carried records up
// (consultations, urgent reports and their acknowledgements, shifts,
// zero reports, unsigned flags): such a release reads a record's message
// as a case with no events, refuses it in those words, and has no
// CaseReceipt.unknown_kind to say that it does not know the kind. Its
// sender holds it back the same way, never setting it aside, until the
// office is upgraded: set aside, a record would wait for a new version
// of itself to go again.
func beforeRecords(m *peerv1.CaseMessage, why string) bool {
	return casebook.Records(m) > 0 && len(m.GetEvents()) == 0 && strings.Contains(why, ": no events: ")
}
