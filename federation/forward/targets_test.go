package forward

import (
	"slices"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

type dir map[string][]*yizhanv1.NodeEntry

func (d dir) Nodes(office string) []*yizhanv1.NodeEntry { return d[office] }

type noLeader struct{}

func (noLeader) Leader() (string, string) { return "", "" }

// An office's peer routes take the place of the directory's addresses,
// for that office only, wherever a call goes to it.
func TestPeerRoutesOverrideTheDirectory(t *testing.T) {
	const county, township, village = "450122000000", "450122101000", "450122101203"
	d := dir{
		county:   {{Name: "county-1", PeerAddress: "10.0.0.1:7001"}},
		township: {{Name: "chengguan-1", PeerAddress: "10.0.1.1:7001"}},
	}
	r := &Routes{Office: village, County: county, Node: "dongcun-1", Directory: d, Leadership: noLeader{},
		PeerRoutes: map[string][]string{township: {"127.0.0.1:9001"}}}
	addrs := func(ts []Target) (out []string) {
		for _, t := range ts {
			out = append(out, t.Addr)
		}
		return out
	}
	if got := addrs(r.OfficeTargets(township)); !slices.Equal(got, []string{"127.0.0.1:9001"}) {
		t.Errorf("the township: %v", got)
	}
	if got := addrs(r.UpTargets()); !slices.Equal(got, []string{"127.0.0.1:9001", "10.0.0.1:7001"}) {
		t.Errorf("up: %v", got)
	}
	if got := addrs(r.RegistryTargets()); !slices.Equal(got, []string{"10.0.0.1:7001"}) {
		t.Errorf("the county, without a route: %v", got)
	}
}
