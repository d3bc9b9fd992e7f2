package web

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The federation status page: every office, its nodes from the node
// directory, and for each node what it says about itself
// (/v1/registry/status and /v1/cluster), fetched from its HTTP address
// with a short timeout. A node that does not answer is 离线.

type nodeStatus struct {
	Entry       *yizhanv1.NodeEntry
	Self        bool
	Online      bool
	Err         string
	Status      *yizhanv1.RegistryStatus
	Cluster     *yizhanv1.GetClusterResponse
	Role        string
	LastContact string
	Stale       string
	FeedFrom    string
	// Alarms are what an operator must look at: the feed's error, case
	// messages set aside as undeliverable, offices the mail cannot reach.
	Alarms []string
}

type officeStatus struct {
	Office *yizhanv1.Office
	Nodes  []*nodeStatus
}

type federationData struct {
	Offices       []officeStatus
	Online, Total int
	Checked       string
}

// nodeTimeout bounds each node's answer.
const nodeTimeout = 1500 * time.Millisecond

func (s *server) federation(rq *request) error {
	if err := requireAdmin(rq); err != nil {
		return err
	}
	ctx := rq.ctx()
	offices, err := s.cfg.Registry.ListOffices(ctx, &yizhanv1.ListOfficesRequest{})
	if err != nil {
		return err
	}
	nodes, err := s.cfg.Registry.ListNodes(ctx, &yizhanv1.ListNodesRequest{})
	if err != nil {
		return err
	}
	byOffice := map[string][]*nodeStatus{}
	var all []*nodeStatus
	for _, n := range nodes.GetNodes() {
		ns := &nodeStatus{Entry: n, Self: n.GetName() == s.cfg.Node && n.GetOfficeCode() == s.cfg.Office}
		byOffice[n.GetOfficeCode()] = append(byOffice[n.GetOfficeCode()], ns)
		all = append(all, ns)
	}
	var wg sync.WaitGroup
	for _, ns := range all {
		wg.Go(func() { s.probe(rq.r.Context(), ns) })
	}
	wg.Wait()
	names := map[string]string{}
	for _, o := range offices.GetOffices() {
		names[o.GetCode()] = o.GetName()
	}
	d := &federationData{Total: len(all), Checked: s.now().In(china).Format("2006-01-02 15:04:05")}
	for _, ns := range all {
		if ns.Online {
			d.Online++
			s.describe(ns, names)
		}
	}
	for _, o := range offices.GetOffices() {
		d.Offices = append(d.Offices, officeStatus{Office: o, Nodes: byOffice[o.GetCode()]})
	}
	return s.render(rq, http.StatusOK, "federation", &view{Title: "系统运行状态", Section: "admin", AdminTab: "federation", Data: d, Meta: nodes.GetMeta()})
}

// probe asks one node for its registry status and its raft group; this
// node answers in-process.
func (s *server) probe(ctx context.Context, ns *nodeStatus) {
	ctx, cancel := context.WithTimeout(ctx, nodeTimeout)
	defer cancel()
	if ns.Self {
		st, err := s.cfg.Registry.GetRegistryStatus(ctx, &yizhanv1.GetRegistryStatusRequest{})
		if err != nil {
			ns.Err = err.Error()
			return
		}
		cl, err := s.cfg.Cluster.GetCluster(ctx, &yizhanv1.GetClusterRequest{})
		if err != nil {
			ns.Err = err.Error()
			return
		}
		ns.Status, ns.Cluster, ns.Online = st, cl, true
		return
	}
	addr := ns.Entry.GetHttpAddress()
	if addr == "" {
		ns.Err = "节点目录中没有 HTTP 地址"
		return
	}
	st, cl := &yizhanv1.RegistryStatus{}, &yizhanv1.GetClusterResponse{}
	if err := s.fetchJSON(ctx, "http://"+addr+"/v1/registry/status", st); err != nil {
		ns.Err = err.Error()
		return
	}
	if err := s.fetchJSON(ctx, "http://"+addr+"/v1/cluster", cl); err != nil {
		ns.Err = err.Error()
		return
	}
	ns.Status, ns.Cluster, ns.Online = st, cl, true
}

func (s *server) fetchJSON(ctx context.Context, url string, m proto.Message) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(body, m)
}

var roleNamesRaft = map[string]string{
	"Leader": "主节点", "Follower": "从节点", "Candidate": "选举中", "Shutdown": "已停止",
}

// describe fills what the page shows of an online node.
func (s *server) describe(ns *nodeStatus, offices map[string]string) {
	for _, m := range ns.Cluster.GetMembers() {
		if m.GetSelf() {
			ns.Role = roleNamesRaft[m.GetState()]
			if ns.Role == "" {
				ns.Role = m.GetState()
			}
		}
	}
	st := ns.Status
	if st.GetFeedSource() != "" {
		ns.FeedFrom = officeName(offices, st.GetFeedSourceOffice()) + "（" + st.GetFeedSource() + "）"
	}
	if st.GetStaleSeconds() > 0 {
		ns.Stale = ago(st.GetStaleSeconds())
	}
	if off := st.GetClockOffsetSeconds(); math.Abs(off) > 60 {
		way := "慢"
		if off < 0 {
			way = "快"
		}
		alarm := fmt.Sprintf("该节点时钟比县级时间%s约 %d 分钟", way, int(math.Round(math.Abs(off)/60)))
		if math.Abs(off) > 300 {
			alarm += "：为免办件日期、期限和统计出错，它暂停一切办理，请校准该节点时间"
		} else {
			alarm += "，请尽快校准该节点时间（相差超过 5 分钟将暂停办理）"
		}
		ns.Alarms = append(ns.Alarms, alarm)
	}
	lc := st.GetLastContact()
	if lc == nil {
		lc = ns.Cluster.GetLastContact()
	}
	ns.LastContact = s.since(lc)
	if e := st.GetFeedError(); e != "" && st.GetFeedErrorAt().AsTime().After(st.GetLastContact().AsTime()) {
		ns.Alarms = append(ns.Alarms, fmt.Sprintf("目录同步失败（%s）：%s", s.since(st.GetFeedErrorAt()), e))
	}
	for _, q := range st.GetQuarantined() {
		ns.Alarms = append(ns.Alarms, fmt.Sprintf("办件 %s 发往 %s 的消息已隔离（%s），不再重发，待办件再有变化时重新排队：%s",
			q.GetCaseNumber(), officeName(offices, q.GetDestOffice()), s.since(q.GetAt()), q.GetReason()))
	}
	for _, e := range st.GetDeliveryErrors() {
		ns.Alarms = append(ns.Alarms, fmt.Sprintf("发往 %s 的办件消息发送失败（%s），正在重试：%s",
			officeName(offices, e.GetDestOffice()), s.since(e.GetAt()), e.GetError()))
	}
}

// officeName is an office's name, or its code when the registry does not
// know it.
func officeName(offices map[string]string, code string) string {
	if n := offices[code]; n != "" {
		return n
	}
	return code
}

// since is how long ago ts was ("刚刚", "12 秒前").
func (s *server) since(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	d := s.now().Sub(ts.AsTime())
	if d < time.Second {
		return "刚刚"
	}
	return humanDuration(d) + "前"
}
