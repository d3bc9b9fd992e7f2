// Package forward is how a node reaches other nodes: the pool of
// mutual-TLS gRPC connections to peers (Peers, with the peer port's
// message limits and keepalives, both sides), forwarding a call that this
// node may not serve to the next node that may (Forwarder: the caller's
// token and a hop count go along; Unavailable targets are passed over,
// and a read also passes over a node that does not answer in time), and
// where a call goes from here (Routes: to the county leader, to this
// office's leader, up the tree, to the nodes of a named office).
package forward
