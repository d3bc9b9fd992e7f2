package registry

import (
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

func TestCreateOffice(t *testing.T) {
	r := New(Options{})
	out := mustApply(t, r, createOffice(&yizhanv1.Office{Code: county, Name: "县政务服务中心", Phone: "0771-1234567"}))
	o, ok := out.(*yizhanv1.Office)
	if !ok {
		t.Fatalf("Apply returned %T, want *yizhanv1.Office", out)
	}
	if o.GetTier() != yizhanv1.Tier_TIER_COUNTY || o.GetParentCode() != "" || o.GetRegistryIndex() != 1 || !o.GetCreatedAt().AsTime().Equal(t0) {
		t.Errorf("county = %v", o)
	}
	mustApply(t, r, createOffice(&yizhanv1.Office{Code: township, Name: "镇"}))
	mustApply(t, r, createOffice(&yizhanv1.Office{Code: village, Name: "村", ParentCode: township}))

	v, err := r.Office(village)
	if err != nil {
		t.Fatal(err)
	}
	if v.GetTier() != yizhanv1.Tier_TIER_VILLAGE || v.GetParentCode() != township || v.GetRegistryIndex() != 3 {
		t.Errorf("village = %v", v)
	}
	// Returned values are clones.
	v.Name = "changed"
	if again, _ := r.Office(village); again.GetName() != "村" {
		t.Errorf("Office returned an alias of the stored office")
	}
	if _, err := r.Office("450122999000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Office(unknown) = %v, want ErrNotFound", err)
	}
}

func TestOfficeQueries(t *testing.T) {
	r := newCounty(t)
	codes := func(os []*yizhanv1.Office) []string {
		var out []string
		for _, o := range os {
			out = append(out, o.GetCode())
		}
		return out
	}
	tests := []struct {
		name string
		got  []*yizhanv1.Office
		want []string
	}{
		{name: "all", got: r.Offices(yizhanv1.Tier_TIER_UNSPECIFIED, ""), want: []string{county, township, village, village2, township2}},
		{name: "townships", got: r.Offices(yizhanv1.Tier_TIER_TOWNSHIP, ""), want: []string{township, township2}},
		{name: "villages of township", got: r.Offices(yizhanv1.Tier_TIER_VILLAGE, township), want: []string{village, village2}},
		{name: "villages of township2", got: r.Offices(yizhanv1.Tier_TIER_VILLAGE, township2), want: nil},
		{name: "children of county", got: r.Children(county), want: []string{township, township2}},
		{name: "children of village", got: r.Children(village), want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Sorted by code: 450122101203 < 450122101204 < 450122102000.
			if got := codes(tt.got); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCreateOfficeRejected(t *testing.T) {
	tests := []struct {
		name     string
		empty    bool // start from an empty registry
		cmd      *peerv1.RegistryCommand
		field    string
		sentinel error
	}{
		{name: "no command", cmd: nil, field: "command"},
		{name: "no operation", cmd: command("admin"), field: "command"},
		{name: "no office", cmd: createOffice(nil), field: "office"},
		{name: "code missing", cmd: createOffice(&yizhanv1.Office{Name: "x"}), field: "office.code"},
		{name: "code too short", cmd: createOffice(&yizhanv1.Office{Code: "45012210120", Name: "x"}), field: "office.code"},
		{name: "code with letters", cmd: createOffice(&yizhanv1.Office{Code: "45012210120A", Name: "x"}), field: "office.code"},
		{name: "code all zeros", cmd: createOffice(&yizhanv1.Office{Code: "000000000000", Name: "x"}), field: "office.code"},
		{name: "village without township part", cmd: createOffice(&yizhanv1.Office{Code: "450122000203", Name: "x"}), field: "office.code"},
		{name: "name missing", cmd: createOffice(&yizhanv1.Office{Code: "450122103000"}), field: "office.name"},
		{name: "name blank", cmd: createOffice(&yizhanv1.Office{Code: "450122103000", Name: "  "}), field: "office.name"},
		{name: "parent code not the code's parent", cmd: createOffice(&yizhanv1.Office{Code: "450122102205", Name: "x", ParentCode: township}), field: "office.parent_code"},
		{name: "parent code on a county", empty: true, cmd: createOffice(&yizhanv1.Office{Code: county, Name: "x", ParentCode: "450100000000"}), field: "office.parent_code"},
		{name: "orphan village", cmd: createOffice(&yizhanv1.Office{Code: "450122103201", Name: "x"}), field: "office.code"},
		{name: "orphan village with parent code", cmd: createOffice(&yizhanv1.Office{Code: "450122103201", Name: "x", ParentCode: "450122103000"}), field: "office.parent_code"},
		{name: "township of another county", cmd: createOffice(&yizhanv1.Office{Code: "450123101000", Name: "x"}), field: "office.code"},
		{name: "second county", cmd: createOffice(&yizhanv1.Office{Code: "450123000000", Name: "x"}), field: "office.code"},
		{name: "first office not a county", empty: true, cmd: createOffice(&yizhanv1.Office{Code: township, Name: "x"}), field: "office.code"},
		{name: "duplicate county", cmd: createOffice(&yizhanv1.Office{Code: county, Name: "x"}), sentinel: ErrAlreadyExists},
		{name: "duplicate village", cmd: createOffice(&yizhanv1.Office{Code: village, Name: "x"}), sentinel: ErrAlreadyExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(Options{})
			if !tt.empty {
				r = newCounty(t)
			}
			err := rejected(t, r, tt.cmd)
			wantError(t, err, tt.field, tt.sentinel)
		})
	}
}

func TestOfficeParentViolationNamesParent(t *testing.T) {
	r := newCounty(t)
	err := rejected(t, r, createOffice(&yizhanv1.Office{Code: "450122102205", Name: "x", ParentCode: township}))
	mustContain(t, description(err, "office.parent_code"), "450122102000", "extend its parent's code")
}

func TestCreateDepartment(t *testing.T) {
	r := newCounty(t)
	out := mustApply(t, r, createDepartment(&yizhanv1.Department{Code: "gaj-1_x", Name: "公安局", Phone: "110"}))
	d := out.(*yizhanv1.Department)
	if d.GetRegistryIndex() != r.Index() || !d.GetCreatedAt().AsTime().Equal(t0) {
		t.Errorf("department = %v", d)
	}
	got, err := r.Department("gaj-1_x")
	if err != nil || !proto.Equal(got, d) {
		t.Errorf("Department = %v, %v; want %v", got, err, d)
	}
	var codes []string
	for _, d := range r.Departments() {
		codes = append(codes, d.GetCode())
	}
	if want := []string{"gaj-1_x", "scjg", "sw"}; len(codes) != 3 || codes[0] != want[0] || codes[1] != want[1] || codes[2] != want[2] {
		t.Errorf("Departments = %v, want %v", codes, want)
	}
	if _, err := r.Department("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Department(nope) = %v, want ErrNotFound", err)
	}
}

func TestCreateDepartmentRejected(t *testing.T) {
	tests := []struct {
		name     string
		dept     *yizhanv1.Department
		field    string
		sentinel error
	}{
		{name: "no department", dept: nil, field: "department"},
		{name: "code missing", dept: &yizhanv1.Department{Name: "x"}, field: "department.code"},
		{name: "code upper case", dept: &yizhanv1.Department{Code: "SCJG", Name: "x"}, field: "department.code"},
		{name: "code with space", dept: &yizhanv1.Department{Code: "sc jg", Name: "x"}, field: "department.code"},
		{name: "code too long", dept: &yizhanv1.Department{Code: "abcdefghijklmnopqrstuvwxyz0123456", Name: "x"}, field: "department.code"},
		{name: "name missing", dept: &yizhanv1.Department{Code: "gaj"}, field: "department.name"},
		{name: "duplicate", dept: &yizhanv1.Department{Code: "scjg", Name: "x"}, sentinel: ErrAlreadyExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCounty(t)
			wantError(t, rejected(t, r, createDepartment(tt.dept)), tt.field, tt.sentinel)
		})
	}
}

func validNode(name, office string) *yizhanv1.NodeEntry {
	return &yizhanv1.NodeEntry{Name: name, OfficeCode: office, RaftAddress: "10.0.0.1:7000", PeerAddress: "10.0.0.1:7001", HttpAddress: "10.0.0.1:8080"}
}

func TestPutNode(t *testing.T) {
	r := newCounty(t)
	mustApply(t, r, putNode(validNode("village-1", village)))
	mustApply(t, r, putNode(validNode("county-2", county)))
	mustApply(t, r, putNode(validNode("county-1", county)))

	// Upsert by name: the second write replaces the first.
	moved := validNode("county-1", county)
	moved.PeerAddress = "county-1.example:7001"
	out := mustApply(t, r, putNode(moved))
	if n := out.(*yizhanv1.NodeEntry); n.GetRegistryIndex() != r.Index() || !n.GetUpdatedAt().AsTime().Equal(t0) {
		t.Errorf("node = %v", n)
	}
	nodes := r.Nodes(county)
	if len(nodes) != 2 || nodes[0].GetName() != "county-1" || nodes[1].GetName() != "county-2" {
		t.Fatalf("Nodes(county) = %v", nodes)
	}
	if nodes[0].GetPeerAddress() != "county-1.example:7001" {
		t.Errorf("county-1 peer address = %q, want the updated one", nodes[0].GetPeerAddress())
	}
	if all := r.Nodes(""); len(all) != 3 {
		t.Errorf("Nodes(\"\") = %d nodes, want 3", len(all))
	}
}

func TestPutNodeRejected(t *testing.T) {
	with := func(f func(n *yizhanv1.NodeEntry)) *yizhanv1.NodeEntry {
		n := validNode("n1", county)
		f(n)
		return n
	}
	tests := []struct {
		name  string
		node  *yizhanv1.NodeEntry
		field string
	}{
		{name: "no node", node: nil, field: "node"},
		{name: "name missing", node: with(func(n *yizhanv1.NodeEntry) { n.Name = "" }), field: "node.name"},
		{name: "office missing", node: with(func(n *yizhanv1.NodeEntry) { n.OfficeCode = "" }), field: "node.office_code"},
		{name: "office unknown", node: with(func(n *yizhanv1.NodeEntry) { n.OfficeCode = "450122109000" }), field: "node.office_code"},
		{name: "peer address missing", node: with(func(n *yizhanv1.NodeEntry) { n.PeerAddress = "" }), field: "node.peer_address"},
		{name: "peer address without port", node: with(func(n *yizhanv1.NodeEntry) { n.PeerAddress = "10.0.0.1" }), field: "node.peer_address"},
		{name: "peer address without host", node: with(func(n *yizhanv1.NodeEntry) { n.PeerAddress = ":7001" }), field: "node.peer_address"},
		{name: "peer address port 0", node: with(func(n *yizhanv1.NodeEntry) { n.PeerAddress = "h:0" }), field: "node.peer_address"},
		{name: "peer address port too big", node: with(func(n *yizhanv1.NodeEntry) { n.PeerAddress = "h:65536" }), field: "node.peer_address"},
		{name: "peer address port not a number", node: with(func(n *yizhanv1.NodeEntry) { n.PeerAddress = "h:grpc" }), field: "node.peer_address"},
		{name: "raft address missing", node: with(func(n *yizhanv1.NodeEntry) { n.RaftAddress = "" }), field: "node.raft_address"},
		{name: "raft address bad", node: with(func(n *yizhanv1.NodeEntry) { n.RaftAddress = "a:b:c" }), field: "node.raft_address"},
		{name: "http address bad", node: with(func(n *yizhanv1.NodeEntry) { n.HttpAddress = "localhost" }), field: "node.http_address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCounty(t)
			wantViolation(t, rejected(t, r, putNode(tt.node)), tt.field)
		})
	}
}

func TestPutNodeIPv6(t *testing.T) {
	r := newCounty(t)
	n := validNode("v6", county)
	n.PeerAddress = "[fd00::1]:7001"
	n.HttpAddress = ""
	mustApply(t, r, putNode(n))
}
