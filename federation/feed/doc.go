// Package feed is the registry feed: how the registry authored at the
// county is replayed down the tree. A node serves its registry's
// changelog to the offices below it (Feed.Serve: a redacted snapshot when
// the subscriber is too far behind, batches cut by bytes, chunks for
// large messages, heartbeats when idle); the leader of an office below
// the county pulls it from above (Feed.Run: the parent's nodes, then the
// upstream addresses, then the county's, with idle timeouts and
// fallbacks) and applies what it receives through its own raft group.
// Status and StaleSeconds say how fresh this node's registry is.
package feed
