// Package raftgroup is one office's raft group on one node: the group
// (Group: open, bootstrap, propose, members, leadership), its thin state
// machine (FSM: a peer.v1.Command handed to the registry's or the case
// book's applier, snapshots of both), and the office's memory of client
// requests that makes writes exactly-once (Request, RequestMemory). The
// raft log and stable store are federation/walstore's (raft-wal); the case
// book is casebook's, in the node's badger; the transport is
// federation/raftnet's. It knows nothing of other offices.
package raftgroup
