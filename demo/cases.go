package demo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// SampleCase is a case the demo filed, with the citizen's query code.
type SampleCase struct {
	Number    string
	QueryCode string
	Item      string
	Story     string
}

// sampleCasesFile keeps the sample cases' numbers and query codes: a
// node keeps only a hash of a query code.
const sampleCasesFile = "sample-cases.txt"

// sampleCases files the sample cases at the first run and reads them back
// at later runs.
func (c *County) sampleCases(ctx context.Context) error {
	path := filepath.Join(c.opts.DataDir, sampleCasesFile)
	if f, err := os.Open(path); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			parts := strings.SplitN(sc.Text(), "\t", 4)
			if len(parts) == 4 {
				c.Cases = append(c.Cases, SampleCase{Number: parts[0], QueryCode: parts[1], Item: parts[2], Story: parts[3]})
			}
		}
		return sc.Err()
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	fmt.Fprintln(c.opts.Out, "filing the sample cases (first run only) …")
	cases, err := c.seedCases(ctx)
	if err != nil {
		return err
	}
	c.Cases = cases
	var b strings.Builder
	for _, sc := range cases {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", sc.Number, sc.QueryCode, sc.Item, sc.Story)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// staffSession is a signed-in staff member at one node.
type staffSession struct {
	cases yizhanv1.CaseServiceClient
	token string
}

func (s *staffSession) ctx(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.token)
}

// signIn signs a staff member in at a node.
func (c *County) signIn(ctx context.Context, nodeIndex int, username string) (*staffSession, func(), error) {
	conn, err := grpc.NewClient(c.Nodes[nodeIndex].HTTPAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, err
	}
	resp, err := yizhanv1.NewAuthServiceClient(conn).Login(ctx, &yizhanv1.LoginRequest{Username: username, Password: AdminPassword})
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("demo: sign in %s: %w", username, err)
	}
	return &staffSession{cases: yizhanv1.NewCaseServiceClient(conn), token: resp.GetToken()}, func() { conn.Close() }, nil
}

// node indexes in Nodes.
const (
	iCounty   = 0
	iTownship = 3
	iDongcun  = 4
	iXicun    = 5
)

// seedCases files a few cases that end up in different states along
// different routes, as the staff would move them. It runs once: when a
// village already holds cases, it does nothing.
func (c *County) seedCases(ctx context.Context) ([]SampleCase, error) {
	if c.Nodes[iDongcun].Office().Cases().Len() > 0 {
		return nil, nil
	}
	// Every office holds the registry as seeded (the case policy the
	// township's decisions rest on) before the cases move.
	var want uint64
	for _, n := range c.Nodes {
		if n.Office().Code() == CountyCode {
			want = max(want, n.Registry().Index())
		}
	}
	for _, n := range c.Nodes {
		deadline := time.Now().Add(30 * time.Second)
		for n.Registry().Index() < want {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("demo: %s did not receive the registry", n.Name())
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	sessions := map[string]*staffSession{}
	for _, s := range []struct {
		node int
		user string
	}{{iCounty, "chenjing"}, {iCounty, "wangqiang"}, {iTownship, "lihua"}, {iDongcun, "dongcun"}, {iXicun, "xicun"}} {
		sess, closeFn, err := c.signIn(ctx, s.node, s.user)
		if err != nil {
			return nil, err
		}
		defer closeFn()
		sessions[s.user] = sess
	}
	var out []SampleCase
	file := func(agent, item, name, id, story string, materials ...string) (*yizhanv1.Case, error) {
		s := sessions[agent]
		req := &yizhanv1.FileCaseRequest{ItemCode: item, Applicant: &yizhanv1.Applicant{Name: name, IdNumber: id, Phone: "13907710001"}}
		for _, m := range materials {
			req.Materials = append(req.Materials, &yizhanv1.SubmittedMaterial{Name: m, Copies: 1})
		}
		resp, err := s.cases.FileCase(s.ctx(ctx), req)
		if err != nil {
			return nil, fmt.Errorf("demo: file %s: %w", item, err)
		}
		out = append(out, SampleCase{Number: resp.GetCase().GetNumber(), QueryCode: resp.GetCase().GetQueryCode(), Item: resp.GetCase().GetItemName(), Story: story})
		return resp.GetCase(), nil
	}
	// wait until the office of node i owns the case.
	arrive := func(i int, number string) error {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if cs, ok := c.Nodes[i].Office().Cases().Case(number); ok && cs.GetOwnerOffice() == c.Nodes[i].Office().Code() {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		return fmt.Errorf("demo: case %s did not reach %s", number, c.Nodes[i].Name())
	}
	act := func(user string, f func(yizhanv1.CaseServiceClient, context.Context) (*yizhanv1.CaseResponse, error)) error {
		s := sessions[user]
		_, err := f(s.cases, s.ctx(ctx))
		return err
	}
	tobaccoMaterials := []string{"烟草专卖零售许可证申请表", "申请人居民身份证", "营业执照", "经营场所产权证明或租赁协议"}

	// 1. Tobacco licence filed at 东村: waits at the county to be accepted.
	if _, err := file("dongcun", "450122-YC-001", "黄志明", "450122198703154510", "东村代办，已报送县烟草窗口，待受理", tobaccoMaterials...); err != nil {
		return nil, err
	}
	// 2. Tobacco licence filed at 西村: approved at the county, certificate
	// made, back at 西村 to be delivered.
	c2, err := file("xicun", "450122-YC-001", "韦美玲", "450122199205206028", "县级审批通过、已制证，回到西村待送达", tobaccoMaterials...)
	if err != nil {
		return nil, err
	}
	// 3. Tobacco licence filed at 西村 with a material missing: the county
	// sends the one-time notice.
	c3, err := file("xicun", "450122-YC-001", "蒙小军", "450122198811300036", "材料不全，县窗口已一次性告知补正", "烟草专卖零售许可证申请表", "申请人居民身份证")
	if err != nil {
		return nil, err
	}
	// 4. Sole-trader registration, delegated to the township: filed at 东村,
	// approved at 城关镇, delivered at 东村 and closed.
	c4, err := file("dongcun", "450122-SCJG-001", "黄秀兰", "450122197501010020", "乡镇审批，东村送达，已办结", "个体工商户登记（备案）申请书", "申请人居民身份证", "经营场所使用证明")
	if err != nil {
		return nil, err
	}
	// 5. Pension insurance enrolment, done at 东村 on the spot.
	c5, err := file("dongcun", "450122-RS-001", "黄德福", "450122195502020010", "村级直办，即办件，已办结", "城乡居民基本养老保险参保登记表", "申请人居民身份证")
	if err != nil {
		return nil, err
	}

	if err := arrive(iCounty, c2.GetNumber()); err != nil {
		return nil, err
	}
	n2 := c2.GetNumber()
	steps := []struct {
		user string
		f    func(yizhanv1.CaseServiceClient, context.Context) (*yizhanv1.CaseResponse, error)
	}{
		{"chenjing", func(cl yizhanv1.CaseServiceClient, ctx context.Context) (*yizhanv1.CaseResponse, error) {
			return cl.Accept(ctx, &yizhanv1.CaseActionRequest{Number: n2})
		}},
		{"chenjing", func(cl yizhanv1.CaseServiceClient, ctx context.Context) (*yizhanv1.CaseResponse, error) {
			return cl.Review(ctx, &yizhanv1.CaseActionRequest{Number: n2, Reason: "材料齐全，经营场所经实地核查符合布局要求", Conclusion: yizhanv1.Conclusion_CONCLUSION_AGREE})
		}},
		{"wangqiang", func(cl yizhanv1.CaseServiceClient, ctx context.Context) (*yizhanv1.CaseResponse, error) {
			return cl.Decide(ctx, &yizhanv1.CaseActionRequest{Number: n2, Approved: true, Reason: "符合《烟草专卖法》规定的零售许可条件，准予许可"})
		}},
		{"chenjing", func(cl yizhanv1.CaseServiceClient, ctx context.Context) (*yizhanv1.CaseResponse, error) {
			return cl.Certify(ctx, &yizhanv1.CaseActionRequest{Number: n2, CertificateNumber: "450122202600123"})
		}},
	}
	for _, s := range steps {
		if err := act(s.user, s.f); err != nil {
			return nil, fmt.Errorf("demo: case %s: %w", n2, err)
		}
	}

	if err := arrive(iCounty, c3.GetNumber()); err != nil {
		return nil, err
	}
	if err := act("chenjing", func(cl yizhanv1.CaseServiceClient, ctx context.Context) (*yizhanv1.CaseResponse, error) {
		return cl.RequestCorrection(ctx, &yizhanv1.CaseActionRequest{Number: c3.GetNumber(),
			MissingMaterials: []string{"营业执照", "经营场所产权证明或租赁协议"}, Reason: "请补齐以下材料后重新提交"})
	}); err != nil {
		return nil, fmt.Errorf("demo: case %s: %w", c3.GetNumber(), err)
	}

	if err := arrive(iTownship, c4.GetNumber()); err != nil {
		return nil, err
	}
	n4 := c4.GetNumber()
	for _, f := range []func(yizhanv1.CaseServiceClient, context.Context) (*yizhanv1.CaseResponse, error){
		func(cl yizhanv1.CaseServiceClient, ctx context.Context) (*yizhanv1.CaseResponse, error) {
			return cl.Accept(ctx, &yizhanv1.CaseActionRequest{Number: n4})
		},
		func(cl yizhanv1.CaseServiceClient, ctx context.Context) (*yizhanv1.CaseResponse, error) {
			return cl.Review(ctx, &yizhanv1.CaseActionRequest{Number: n4, Reason: "材料齐全", Conclusion: yizhanv1.Conclusion_CONCLUSION_AGREE})
		},
		func(cl yizhanv1.CaseServiceClient, ctx context.Context) (*yizhanv1.CaseResponse, error) {
			return cl.Decide(ctx, &yizhanv1.CaseActionRequest{Number: n4, Approved: true, Reason: "符合个体工商户登记条件，准予登记"})
		},
		func(cl yizhanv1.CaseServiceClient, ctx context.Context) (*yizhanv1.CaseResponse, error) {
			return cl.Certify(ctx, &yizhanv1.CaseActionRequest{Number: n4, CertificateNumber: "92450122MA5L0001X"})
		},
	} {
		if err := act("lihua", f); err != nil {
			return nil, fmt.Errorf("demo: case %s: %w", n4, err)
		}
	}
	if err := arrive(iDongcun, n4); err != nil {
		return nil, err
	}
	if err := act("dongcun", func(cl yizhanv1.CaseServiceClient, ctx context.Context) (*yizhanv1.CaseResponse, error) {
		return cl.Deliver(ctx, &yizhanv1.CaseActionRequest{Number: n4})
	}); err != nil {
		return nil, fmt.Errorf("demo: case %s: %w", n4, err)
	}

	n5 := c5.GetNumber()
	for _, f := range []func(yizhanv1.CaseServiceClient, context.Context) (*yizhanv1.CaseResponse, error){
		func(cl yizhanv1.CaseServiceClient, ctx context.Context) (*yizhanv1.CaseResponse, error) {
			return cl.Accept(ctx, &yizhanv1.CaseActionRequest{Number: n5})
		},
		func(cl yizhanv1.CaseServiceClient, ctx context.Context) (*yizhanv1.CaseResponse, error) {
			return cl.Decide(ctx, &yizhanv1.CaseActionRequest{Number: n5, Approved: true, Reason: "符合参保条件"})
		},
		func(cl yizhanv1.CaseServiceClient, ctx context.Context) (*yizhanv1.CaseResponse, error) {
			return cl.Deliver(ctx, &yizhanv1.CaseActionRequest{Number: n5})
		},
	} {
		if err := act("dongcun", f); err != nil {
			return nil, fmt.Errorf("demo: case %s: %w", n5, err)
		}
	}
	return out, nil
}
