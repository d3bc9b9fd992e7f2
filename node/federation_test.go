package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/reason"
)

func tobacco() *yizhanv1.Item {
	return &yizhanv1.Item{
		Code: "450122-YC-001", Name: "烟草专卖零售许可证核发", Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE,
		DepartmentCode: "yc", LegalBasis: "《中华人民共和国烟草专卖法》第十六条",
		StatutoryLimitDays: 20, PromisedLimitDays: 10,
		CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
		Materials: []*yizhanv1.Material{{Name: "申请表", Form: yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL, Copies: 1, Required: true}},
	}
}

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return resp.StatusCode, v
}

func TestItemCreatedAtCountyIsReadableAtBothVillages(t *testing.T) {
	f := newFed(t)
	f.startCounty(3)
	admin := dial(t, f.nodes["county-2"]).login("admin", password) // a follower: writes are forwarded
	f.startTree(admin)

	if _, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{
		Department: &yizhanv1.Department{Code: "yc", Name: "县烟草专卖局"}}); err != nil {
		t.Fatal(err)
	}
	// Written at a village node: forwarded up to the county.
	villageAdmin := dial(t, f.nodes["dongcun-1"])
	villageAdmin.token = admin.token
	w, err := villageAdmin.reg.CreateItem(villageAdmin.ctx(), &yizhanv1.CreateItemRequest{Item: tobacco()})
	if err != nil {
		t.Fatalf("create item through a village node: %v", err)
	}
	for _, name := range []string{"dongcun-1", "xicun-1"} {
		n := f.nodes[name]
		waitFor(t, name+" has the item", func() bool { return n.Registry().Index() >= w.GetRegistryIndex() }, 10*time.Second)
		url := fmt.Sprintf("http://%s/v1/items/450122-YC-001?min_index=%d", n.HTTPAddr(), w.GetRegistryIndex())
		code, body := getJSON(t, url)
		if code != http.StatusOK {
			t.Fatalf("%s: GET item: %d %v", name, code, body)
		}
		item := body["item"].(map[string]any)
		if item["name"] != "烟草专卖零售许可证核发" || item["promised_limit_days"] != float64(10) {
			t.Errorf("%s: item = %v", name, item)
		}
		meta := body["meta"].(map[string]any)
		if meta["office_code"] != n.Office().Code() {
			t.Errorf("%s: meta = %v", name, meta)
		}
	}
	// A village's feed comes from its township.
	_, st := getJSON(t, "http://"+f.nodes["xicun-1"].HTTPAddr()+"/v1/registry/status")
	if st["feed_source_office"] != township {
		t.Errorf("xicun feed source office = %v, want the township", st["feed_source_office"])
	}
	// Every node, at every tier, holds the county's registry: the same
	// digest at the same index in its status.
	_, want := getJSON(t, "http://"+f.nodes["county-1"].HTTPAddr()+"/v1/registry/status")
	if d, _ := want["digest"].(string); len(d) != 64 {
		t.Fatalf("the county's status has digest %v, want 64 hex digits", want["digest"])
	}
	for name, n := range f.nodes {
		waitFor(t, name+" at the county's registry index", func() bool {
			_, st := getJSON(t, "http://"+n.HTTPAddr()+"/v1/registry/status")
			return st["index"] == want["index"]
		}, 10*time.Second)
		if _, st := getJSON(t, "http://"+n.HTTPAddr()+"/v1/registry/status"); st["digest"] != want["digest"] {
			t.Errorf("%s: registry digest %v at index %v, the county's %v", name, st["digest"], st["index"], want["digest"])
		}
	}
	// Password hashes of county staff never reach a village.
	if _, ok := f.nodes["dongcun-1"].Registry().Credential("admin"); ok {
		t.Error("the county admin's password hash reached a village")
	}
	if _, ok := f.nodes["county-3"].Registry().Credential("admin"); !ok {
		t.Error("a county node lacks the county admin's password hash")
	}
}

func TestReadBehindMinIndexIsFailedPrecondition(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	c := dial(t, f.nodes["county-1"])
	idx := f.nodes["county-1"].Registry().Index()
	_, err := c.reg.ListOffices(c.ctx(), &yizhanv1.ListOfficesRequest{MinIndex: idx + 1000})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("read with a future min_index: %v, want FailedPrecondition", err)
	}
	code, body := getJSON(t, fmt.Sprintf("http://%s/v1/offices?min_index=%d", f.nodes["county-1"].HTTPAddr(), idx+1000))
	if code != http.StatusBadRequest {
		t.Fatalf("REST read with a future min_index: %d %v", code, body)
	}
}

func TestVillageCutOffCatchesUpThroughSnapshot(t *testing.T) {
	f := newFed(t)
	f.retention = 100 // far fewer than the changes made while the village is away
	f.startCounty(1)
	admin := dial(t, f.nodes["county-1"]).login("admin", password)
	f.startTree(admin)
	village := f.nodes["dongcun-1"]

	f.links["dongcun-1"].Cut()
	// A feed message already on its way may land until the village's feed
	// session has noticed the cut.
	waitFor(t, "the village's feed to break", func() bool { return village.Office().Feed().LastError != "" }, 10*time.Second)
	atCut := village.Registry().Index()
	const changes = 1000
	var wg sync.WaitGroup
	var failed atomic.Int32
	next := atomic.Int32{}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > changes {
					return
				}
				_, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{
					Department: &yizhanv1.Department{Code: fmt.Sprintf("d%04d", i), Name: fmt.Sprintf("部门%d", i)}})
				if err != nil {
					failed.Add(1)
					t.Errorf("create department %d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.FailNow()
	}
	countyIndex := f.nodes["county-1"].Registry().Index()
	if village.Registry().Index() >= countyIndex {
		t.Fatal("the village caught up while its link was cut")
	}
	// The township kept up; the village did not.
	waitFor(t, "township caught up", func() bool { return f.nodes["chengguan-1"].Registry().Index() == countyIndex }, 20*time.Second)

	if got := village.Registry().Index(); got != atCut {
		t.Fatalf("the village's registry moved from %d to %d while its link was cut", atCut, got)
	}
	f.links["dongcun-1"].Restore()
	waitFor(t, "village caught up", func() bool { return village.Registry().Index() == countyIndex }, 30*time.Second)
	if got := len(village.Registry().Departments()); got != changes {
		t.Errorf("village has %d departments, want %d", got, changes)
	}
	// The feed counts the snapshot just after applying it: the registry
	// may show the index a moment before the count.
	waitFor(t, "the village's feed to count the snapshot it caught up through", func() bool {
		return village.Office().Feed().SnapshotsInstalled > 0
	}, 5*time.Second)
}

func TestVillageFallsBackToCountyWhenTownshipIsDown(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.nodes["county-1"]).login("admin", password)
	f.startTree(admin)
	f.stop("chengguan-1")
	w, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{
		Department: &yizhanv1.Department{Code: "mz", Name: "县民政局"}})
	if err != nil {
		t.Fatal(err)
	}
	v := f.nodes["xicun-1"]
	waitFor(t, "village has the department through the county", func() bool {
		return v.Registry().Index() >= w.GetRegistryIndex()
	}, 20*time.Second)
	if got := v.Office().Feed().SourceOffice; got != county {
		t.Errorf("feed source office = %s, want the county", got)
	}
}

func TestCountyLeaderStoppedMidStreamLosesNoAcknowledgedWrite(t *testing.T) {
	f := newFed(t)
	f.startCounty(3)
	admin := dial(t, f.nodes["county-1"]).login("admin", password)
	f.startTree(admin)

	// Clients write through a follower that stays up, and retry on
	// Unavailable: during the election there is no leader.
	leader := f.countyLeader()
	var via *node.Node
	for _, name := range f.countyNames() {
		if n := f.nodes[name]; n != leader {
			via = n
			break
		}
	}
	c := dial(t, via)
	c.token = admin.token

	var acked sync.Map
	var wg sync.WaitGroup
	stopAt := atomic.Int32{}
	const writes = 300
	next := atomic.Int32{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > writes {
					return
				}
				if i == writes/3 {
					stopAt.Store(i)
				}
				code := fmt.Sprintf("w%04d", i)
				for attempt := 0; attempt < 200; attempt++ {
					_, err := c.reg.CreateDepartment(c.ctx(), &yizhanv1.CreateDepartmentRequest{
						Department: &yizhanv1.Department{Code: code, Name: "部门 " + code}})
					if err == nil || status.Code(err) == codes.AlreadyExists {
						acked.Store(code, true)
						break
					}
					// Nothing done (Unavailable), or maybe done as the
					// leader stopped (OUTCOME_UNKNOWN): the same write
					// again tells, AlreadyExists if it was.
					if status.Code(err) != codes.Unavailable && reason.StatusReason(err) != reason.OutcomeUnknown {
						t.Errorf("write %s: %v", code, err)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	waitFor(t, "a third of the writes", func() bool { return stopAt.Load() > 0 }, 30*time.Second)
	f.stop(leader.Name())
	wg.Wait()

	newLeader := f.countyLeader()
	if newLeader == leader {
		t.Fatal("no new leader")
	}
	n := 0
	acked.Range(func(k, _ any) bool {
		n++
		if _, err := newLeader.Registry().Department(k.(string)); err != nil {
			t.Errorf("acknowledged write %s lost: %v", k, err)
		}
		return true
	})
	if n != writes {
		t.Errorf("%d of %d writes acknowledged", n, writes)
	}
	// The village gets every one of them too.
	idx := newLeader.Registry().Index()
	v := f.nodes["dongcun-1"]
	waitFor(t, "village caught up", func() bool { return v.Registry().Index() >= idx }, 20*time.Second)

	// The stopped node comes back and catches up.
	back := f.restart(leader.Name())
	waitFor(t, "restarted node caught up", func() bool { return back.Registry().Index() >= idx }, 20*time.Second)
}

// A write that meets an office with no leader waits for one for the
// timing's LeaderHold, then is answered Unavailable: not a hang.
func TestNoLeaderIsUnavailableNotAHang(t *testing.T) {
	f := newFed(t)
	const hold = time.Second
	f.tune = func(_ string, c *node.Config) { c.Timing.LeaderHold = hold }
	f.startCounty(3)
	admin := dial(t, f.nodes["county-1"]).login("admin", password)
	survivor := f.nodes["county-3"]
	f.stop("county-1")
	f.stop("county-2")
	c := dial(t, survivor)
	c.token = admin.token
	waitFor(t, "survivor lost its leader", func() bool { _, id := survivor.Office().Group().Leader(); return id == "" }, 10*time.Second)
	start := time.Now()
	_, err := c.reg.CreateDepartment(c.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "x", Name: "x"}})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("write without a leader: %v, want Unavailable", err)
	}
	if d := time.Since(start); d < hold || d > hold+4*time.Second {
		t.Errorf("write without a leader answered after %s, want the hold (%s) and little more", d, hold)
	}
	resp, err := http.Post("http://"+survivor.HTTPAddr()+"/v1/departments", "application/json", strings.NewReader(`{"code":"y","name":"y"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// Unauthenticated comes first here (no token), so sign the REST call.
	req, _ := http.NewRequest("POST", "http://"+survivor.HTTPAddr()+"/v1/departments", strings.NewReader(`{"code":"y","name":"y"}`))
	req.Header.Set("Authorization", "Bearer "+admin.token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("REST write without a leader: %d, want 503", resp.StatusCode)
	}
}

// A write sent while the county has no leader is held until an election
// gives it one, then applied once: the client sees no error for an
// election (a lost lease on a busy machine, a leader restarting).
func TestWriteDuringAnElectionWaitsForItsLeader(t *testing.T) {
	f := newFed(t)
	f.tune = func(_ string, c *node.Config) { c.Timing.LeaderHold = 30 * time.Second }
	f.startCounty(3)
	admin := dial(t, f.nodes["county-1"]).login("admin", password)
	survivor := f.nodes["county-3"]
	f.stop("county-1")
	f.stop("county-2")
	waitFor(t, "survivor lost its leader", func() bool { _, id := survivor.Office().Group().Leader(); return id == "" }, 10*time.Second)

	c := dial(t, survivor)
	c.token = admin.token
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+admin.token)
	answer := make(chan error, 1)
	go func() {
		_, err := c.reg.CreateDepartment(ctx, &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "held", Name: "选举中写入"}})
		answer <- err
	}()
	select {
	case err := <-answer:
		t.Fatalf("the write was answered with no leader in sight: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	f.restart("county-2") // a quorum again: an election
	select {
	case err := <-answer:
		if err != nil {
			t.Fatalf("the write held through the election: %v", err)
		}
	case <-time.After(35 * time.Second):
		t.Fatal("the write was not answered after the election")
	}
	for _, name := range []string{"county-2", "county-3"} {
		n := f.nodes[name]
		waitFor(t, name+" holds the department", func() bool { _, err := n.Registry().Department("held"); return err == nil }, 10*time.Second)
	}
}

func TestWrongOfficeCertificateIsRefused(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.nodes["county-1"]).login("admin", password)
	f.startTree(admin)
	countyPeer := f.nodes["county-1"].PeerAddr()

	// A node with a village certificate claims to be the other village.
	peers := newPeerClient(t, f.bundle(dongcun, "rogue"), countyPeer)
	stream, err := peers.Feed(context.Background(), &peerv1.FeedRequest{OfficeCode: xicun, Node: "rogue"})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("feed for another office: %v, want PermissionDenied", err)
	}
	// A village node tries to join the county's raft group.
	_, err = peers.Join(context.Background(), &peerv1.JoinRequest{OfficeCode: county, Node: "rogue", RaftAddress: "127.0.0.1:1"})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("village joining the county: %v, want PermissionDenied", err)
	}
	// Both refusals are counted (and logged) at the county.
	resp, err := http.Get("http://" + f.nodes["county-1"].HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, method := range []string{"Feed", "Join"} {
		want := `yizhan_peer_refused_total{code="PermissionDenied",method="/yizhan.peer.v1.Peer/` + method + `",node="county-1",office="` + county + `"} 1`
		if !strings.Contains(string(body), want) {
			t.Errorf("the county's metrics lack %s", want)
		}
	}
	// A county certificate that names its node may join as that node only:
	// as county-1, it would move county-1's raft address to its own.
	named := newPeerClient(t, f.bundle(county, "county-7"), countyPeer)
	_, err = named.Join(context.Background(), &peerv1.JoinRequest{OfficeCode: county, Node: "county-1", RaftAddress: "127.0.0.1:1"})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "county-7") {
		t.Errorf("a certificate of county-7 joining as county-1: %v, want PermissionDenied naming county-7", err)
	}
	if members, err := f.nodes["county-1"].Office().Group().Members(); err != nil || len(members) != 1 || string(members[0].Address) == "127.0.0.1:1" {
		t.Errorf("the county's members after the refusal: %v %v", members, err)
	}
	// A node refuses to run with a certificate for another office.
	_, err = node.New(node.Config{Office: xicun, Name: "rogue", DataDir: t.TempDir(), TLS: f.bundle(dongcun, "rogue"),
		Upstream: []string{countyPeer}, HTTPAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0", RaftAddr: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "certificate names office") {
		t.Errorf("node with another office's certificate: %v", err)
	}
}

func TestVillageNodeCannotMintCountyAdmin(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.nodes["county-1"]).login("admin", password)
	f.startTree(admin)

	// A stolen village node signs a token that claims the county admin.
	vb := f.bundle(dongcun, "dongcun-1")
	forged := auth.NewIssuer(vb.Signer(), vb.Certificate.Certificate, county, "dongcun-1", time.Hour, nil)
	tok, _, err := forged.Issue("admin", county)
	if err != nil {
		t.Fatal(err)
	}
	honest := auth.NewIssuer(vb.Signer(), vb.Certificate.Certificate, dongcun, "dongcun-1", time.Hour, nil)
	tok2, _, err := honest.Issue("admin", county)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, f.nodes["county-1"])
	for name, token := range map[string]string{"claims county office": tok, "claims its own office": tok2} {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
		_, err := c.reg.CreateDepartment(ctx, &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "evil", Name: "evil"}})
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: forged county admin token: %v, want Unauthenticated", name, err)
		}
	}
	// Through the village node itself, forwarded: refused at the county too.
	vc := dial(t, f.nodes["dongcun-1"])
	vc.token = tok2
	_, err = vc.reg.CreateDepartment(vc.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "evil", Name: "evil"}})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("forged token through the village: %v, want Unauthenticated", err)
	}
	if _, err := f.nodes["county-1"].Registry().Department("evil"); err == nil {
		t.Error("a forged write was stored")
	}
	// The county admin can sign in at a village node: the sign-in goes up.
	vadmin := dial(t, f.nodes["xicun-1"]).login("admin", password)
	if _, err := vadmin.reg.CreateDepartment(vadmin.ctx(), &yizhanv1.CreateDepartmentRequest{
		Department: &yizhanv1.Department{Code: "ok", Name: "县民政局"}}); err != nil {
		t.Errorf("county admin signed in at a village: %v", err)
	}
}
