package forward

import (
	"math/rand/v2"
	"slices"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// Target is a node to send a call to: its peer address, and the office
// its certificate must name ("" for any office of the county).
type Target struct{ Addr, Office string }

// Directory is where the nodes of an office are found: the registry's
// node directory (*registry.Registry).
type Directory interface {
	Nodes(office string) []*yizhanv1.NodeEntry
}

// Leadership tells who leads this node's office (*raftgroup.Group).
type Leadership interface {
	Leader() (addr, id string)
}

// Routes says where a call goes from this node.
type Routes struct {
	Office   string // this node's office
	County   string // the county this node's office belongs to
	Node     string // this node's name
	PeerAddr string // this node's advertised peer address: never a target
	// Join lists peer addresses of nodes already in this office.
	Join []string
	// Upstream lists peer addresses of the parent office's nodes, then
	// fallbacks (e.g. the county). Empty at the county.
	Upstream []string
	// PeerRoutes, by office, are the peer addresses this node reaches
	// the office's nodes at, instead of those in the directory: an
	// office behind a NAT or a port mapping, or a link through a proxy
	// (the fault harness).
	PeerRoutes map[string][]string

	Directory  Directory
	Leadership Leadership
}

// RegistryTargets lists where a registry write goes from here, best first.
func (r *Routes) RegistryTargets() []Target {
	var ts []Target
	add := func(addr, office string) {
		if addr == "" || addr == r.PeerAddr {
			return
		}
		for _, t := range ts {
			if t.Addr == addr {
				return
			}
		}
		ts = append(ts, Target{addr, office})
	}
	county := r.Directory.Nodes(r.County)
	if r.Office == r.County {
		// Within the county only the leader can take the write. With no
		// leader known (an election), answer at once: passing the write
		// round the other county nodes would only bounce it.
		_, id := r.Leadership.Leader()
		if id == "" {
			return nil
		}
		for _, n := range county {
			if n.GetName() == id {
				add(n.GetPeerAddress(), r.County)
			}
		}
		if len(ts) == 0 {
			// The directory does not know the leader's address yet.
			for _, a := range r.Join {
				add(a, r.County)
			}
		}
		return ts
	}
	for _, a := range r.officeAddrs(r.County) {
		add(a, r.County)
	}
	for _, a := range r.Upstream {
		add(a, "")
	}
	return ts
}

// LeaderTargets is the peer address of this office's leader, then the
// join addresses (the directory may not know the leader yet).
func (r *Routes) LeaderTargets() []Target {
	var ts []Target
	if _, id := r.Leadership.Leader(); id != "" && id != r.Node {
		for _, n := range r.Directory.Nodes(r.Office) {
			if n.GetName() == id {
				ts = append(ts, Target{n.GetPeerAddress(), r.Office})
			}
		}
	}
	for _, a := range r.Join {
		if a != r.PeerAddr {
			ts = append(ts, Target{a, r.Office})
		}
	}
	return ts
}

// JoinTargets lists the join addresses, which must be nodes of this office.
func (r *Routes) JoinTargets() []Target {
	var ts []Target
	for _, a := range r.Join {
		if a != r.PeerAddr {
			ts = append(ts, Target{a, r.Office})
		}
	}
	return ts
}

// UpTargets lists the offices above this one, best first: the parent
// office's nodes, the configured upstream addresses, then the county's
// nodes. The registry feed comes from them, and reads go up to them.
func (r *Routes) UpTargets() []Target {
	var ts []Target
	seen := map[string]bool{r.PeerAddr: true}
	add := func(addr, office string) {
		if addr != "" && !seen[addr] {
			seen[addr] = true
			ts = append(ts, Target{addr, office})
		}
	}
	parent := registry.ParentCode(r.Office)
	for _, a := range r.officeAddrs(parent) {
		add(a, parent)
	}
	for _, a := range r.Upstream {
		add(a, "")
	}
	if parent != r.County {
		for _, a := range r.officeAddrs(r.County) {
			add(a, r.County)
		}
	}
	return ts
}

// officeAddrs are the peer addresses of another office's nodes: its
// PeerRoutes when it has some, else the directory's, shuffled.
func (r *Routes) officeAddrs(office string) []string {
	if as, ok := r.PeerRoutes[office]; ok {
		return slices.Clone(as)
	}
	var out []string
	for _, n := range shuffled(r.Directory.Nodes(office)) {
		out = append(out, n.GetPeerAddress())
	}
	return out
}

// OfficeTargets lists the nodes of an office: from the directory, then,
// for the parent, the configured upstream addresses.
func (r *Routes) OfficeTargets(office string) []Target {
	var ts []Target
	seen := map[string]bool{}
	for _, a := range r.officeAddrs(office) {
		if a != "" && !seen[a] {
			seen[a] = true
			ts = append(ts, Target{a, office})
		}
	}
	if office == registry.ParentCode(r.Office) {
		for _, a := range r.Upstream {
			if !seen[a] {
				seen[a] = true
				ts = append(ts, Target{a, office})
			}
		}
	}
	return ts
}

func shuffled(ns []*yizhanv1.NodeEntry) []*yizhanv1.NodeEntry {
	ns = slices.Clone(ns)
	rand.Shuffle(len(ns), func(i, j int) { ns[i], ns[j] = ns[j], ns[i] })
	return ns
}
