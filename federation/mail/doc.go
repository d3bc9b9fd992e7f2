// Package mail is case mail between offices, and the automatic steps an
// owner takes. Cases move store-and-forward along the tree: an office
// appends events to the cases it owns through its raft group (the
// office's own write path, Owner); applying them queues outbox entries (a
// mirror for the parent, a handoff for the next office). The leader sends
// each entry — the case's whole log — over mutual TLS, in calls cut by
// bytes, one in flight per destination; the receiver (Mail.Receive)
// checks the sender and every event's signature, applies the message
// through its own raft group and answers with a receipt; the sender drops
// the entry through raft. Sends repeat until receipted, and applying is
// idempotent by case and seq: nothing lost, nothing doubled. A message
// that cannot travel or keeps being refused is set aside (quarantined,
// through raft) and never holds back the rest. The same loop (Mail.Run)
// makes the events an owner makes by itself: receive a case handed on,
// forward it toward the next step's office, close it after delivery.
package mail
