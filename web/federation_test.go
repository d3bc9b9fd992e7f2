package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// alarmingRegistry is a county node whose mail and feed have problems.
type alarmingRegistry struct {
	*fakeRegistry
}

func (alarmingRegistry) ListNodes(context.Context, *yizhanv1.ListNodesRequest) (*yizhanv1.ListNodesResponse, error) {
	return &yizhanv1.ListNodesResponse{Nodes: []*yizhanv1.NodeEntry{{Name: "county-1", OfficeCode: county, HttpAddress: "127.0.0.1:1"}}}, nil
}

func (alarmingRegistry) GetRegistryStatus(context.Context, *yizhanv1.GetRegistryStatusRequest) (*yizhanv1.RegistryStatus, error) {
	at := timestamppb.New(now.Add(-time.Minute))
	return &yizhanv1.RegistryStatus{Index: 100, OutboxEntries: 7,
		Quarantined: []*yizhanv1.QuarantinedMessage{{DestOffice: village, CaseNumber: "450122000000-20261127-0001", UptoSeq: 3,
			Reason: "the message is 9000 bytes, more than the 5000 a case message may have", At: at}},
		DeliveryErrors:     []*yizhanv1.DeliveryError{{DestOffice: village, Error: "connection refused", At: at}},
		ClockOffsetSeconds: -1200,
	}, nil
}

type oneNodeCluster struct {
	yizhanv1.UnimplementedClusterServiceServer
}

func (oneNodeCluster) GetCluster(context.Context, *yizhanv1.GetClusterRequest) (*yizhanv1.GetClusterResponse, error) {
	return &yizhanv1.GetClusterResponse{LeaderId: "county-1", Members: []*yizhanv1.ClusterMember{{Id: "county-1", State: "Leader", Self: true}}}, nil
}

func TestFederationPageRaisesMailAlarms(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Registry = alarmingRegistry{&fakeRegistry{}}
		c.Cluster = oneNodeCluster{}
	})
	resp, page := f.do(t, http.MethodGet, "/admin/federation", nil, session(adminToken))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("federation page: HTTP %d\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{
		"告警", "办件 450122000000-20261127-0001 发往 东村便民服务站 的消息已隔离", "9000 bytes",
		"发往 东村便民服务站 的办件消息发送失败", "connection refused", "<td>7</td>",
		"该节点时钟比县级时间快约 20 分钟：为免办件日期、期限和统计出错，它暂停一切办理，请校准该节点时间",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
}

// A case page answered from this office's own copy, because the offices
// above did not answer, says so and how old the copy is.
func TestCasePageSaysWhenItShowsALocalCopy(t *testing.T) {
	f := newFixture(t)
	f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		c := filedCase()
		c.UpdatedAt = timestamppb.New(now.Add(-2 * time.Hour))
		return &yizhanv1.CaseResponse{Case: c, LocalCopy: true}, nil
	}
	_, page := f.do(t, http.MethodGet, "/cases/"+filedCase().GetNumber(), nil, session(agentToken))
	if !strings.Contains(page, `id="local-copy"`) || !strings.Contains(page, "暂时联系不上上级办事点") {
		t.Errorf("the page does not say it shows a local copy:\n%s", page)
	}
}

// A case whose record does not check (its hash chain or a signature) is
// shown with a warning; to staff, with the first problem VerifyCase
// found, for the admin they are sent to.
func TestCasePageSaysWhichRecordFailsItsCheck(t *testing.T) {
	f := newFixture(t)
	f.cases.getCase = func(*yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
		return &yizhanv1.CaseResponse{Case: filedCase()}, nil
	}
	_, page := f.do(t, http.MethodGet, "/cases/"+filedCase().GetNumber(), nil, session(agentToken))
	if strings.Contains(page, "记录校验未通过") {
		t.Fatal("a case whose record checks is shown with the warning")
	}
	f.cases.chainProblem = "event 3: hash does not match the event before"
	_, page = f.do(t, http.MethodGet, "/cases/"+filedCase().GetNumber(), nil, session(agentToken))
	if !strings.Contains(page, "记录校验未通过") || !strings.Contains(page, "校验发现：<span lang=\"en\">event 3: hash does not match the event before</span>") {
		t.Errorf("the page does not say which record fails its check:\n%s", page)
	}
}

var requestIDRE = regexp.MustCompile(`name="request_id" value="([^"]+)"`)

// Every form carries a request ID, and its write goes to the API with it
// (as the Idempotency-Key), so a form sent twice is one write.
func TestFormsSendTheirRequestID(t *testing.T) {
	f := newFixture(t)
	f.reg.getItem = func(*yizhanv1.GetItemRequest) (*yizhanv1.GetItemResponse, error) {
		return &yizhanv1.GetItemResponse{Item: &yizhanv1.Item{Code: "450122-YC-001", Name: "烟草专卖零售许可证核发"}}, nil
	}
	var got []string
	f.cases.file = func(ctx context.Context, req *yizhanv1.FileCaseRequest) (*yizhanv1.CaseResponse, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		got = append(got, md.Get("idempotency-key")...)
		return &yizhanv1.CaseResponse{Case: filedCase()}, nil
	}
	resp, page := f.do(t, "GET", "/cases/new?item=450122-YC-001", nil)
	m := requestIDRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the filing form carries no request_id")
	}
	pre := cookieOf(resp, preCookie)
	form := url.Values{"csrf": {csrfOf(t, page)}, "request_id": {m[1]}, "item_code": {"450122-YC-001"}, "applicant.name": {"黄小明"}}
	f.do(t, "POST", "/cases", form, pre)
	f.do(t, "POST", "/cases", form, pre)
	if len(got) != 2 || got[0] != m[1] || got[1] != m[1] {
		t.Errorf("the API saw request IDs %v, want the form's %q twice", got, m[1])
	}
	// Another render, another ID.
	_, page2 := f.do(t, "GET", "/cases/new?item=450122-YC-001", nil, pre)
	if m2 := requestIDRE.FindStringSubmatch(page2); m2 == nil || m2[1] == m[1] {
		t.Errorf("a new form has the request ID %v of the last", m2)
	}
}

// A form shown again after its post keeps its request ID: sent again
// after an unknown outcome, it is the same write, not a second one.
func TestAFormShownAgainKeepsItsRequestID(t *testing.T) {
	f := newFixture(t)
	f.reg.getItem = func(*yizhanv1.GetItemRequest) (*yizhanv1.GetItemResponse, error) {
		return &yizhanv1.GetItemResponse{Item: &yizhanv1.Item{Code: "450122-YC-001", Name: "烟草专卖零售许可证核发"}}, nil
	}
	f.cases.file = func(context.Context, *yizhanv1.FileCaseRequest) (*yizhanv1.CaseResponse, error) {
		return nil, status.Error(codes.Unavailable, "no leader")
	}
	resp, page := f.do(t, "GET", "/cases/new?item=450122-YC-001", nil)
	id := requestIDRE.FindStringSubmatch(page)[1]
	pre := cookieOf(resp, preCookie)
	form := url.Values{"csrf": {csrfOf(t, page)}, "request_id": {id}, "item_code": {"450122-YC-001"}, "applicant.name": {"黄小明"}}
	_, again := f.do(t, "POST", "/cases", form, pre)
	m := requestIDRE.FindStringSubmatch(again)
	if m == nil || m[1] != id {
		t.Errorf("the form shown again carries request ID %v, want the posted %q", m, id)
	}
}
