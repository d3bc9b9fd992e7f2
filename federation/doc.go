// Package federation links the offices of a county through one hub per
// node, Office, which ties together the mechanisms that live in packages
// of their own: the office's raft group and its state machine
// (federation/raftgroup, its log store federation/badgerstore), the
// registry feed down the tree (federation/feed), case mail between
// offices and the automatic case steps (federation/mail), and the peer
// connections and forwarding (federation/forward). Here live the Office
// itself (registry writes at the county, the office's own path for
// writing its cases, readiness after a restart, joining the office and
// announcing the node in the directory) and the node-to-node Peer
// service (PeerServer) that serves them all on the peer port.
package federation
