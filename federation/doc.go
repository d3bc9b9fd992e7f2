// Package federation links the offices of a county: each office's raft
// group (Group, FSM), the registry feed that replays the county's
// registry down the tree (ServeFeed, the puller), the node-to-node Peer
// service (join, directory announcements), and forwarding of what a node
// may not do itself to the node that may.
package federation
