package node_test

import (
	"bytes"
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/node"
)

// citizenCalls are every call that takes a query code, made as the
// citizen with number and code.
func citizenCalls(c yizhanv1.CaseServiceClient) map[string]func(ctx context.Context, number, code string) error {
	act := func(f func(context.Context, *yizhanv1.CaseActionRequest) error) func(context.Context, string, string) error {
		return func(ctx context.Context, number, code string) error {
			return f(ctx, &yizhanv1.CaseActionRequest{Number: number, QueryCode: code, Reason: "不再办理", Rating: yizhanv1.Rating_RATING_SATISFIED})
		}
	}
	return map[string]func(ctx context.Context, number, code string) error{
		"GetCase": func(ctx context.Context, number, code string) error {
			_, err := c.GetCase(ctx, &yizhanv1.GetCaseRequest{Number: number, QueryCode: code})
			return err
		},
		"ListCaseEvents": func(ctx context.Context, number, code string) error {
			_, err := c.ListCaseEvents(ctx, &yizhanv1.ListCaseEventsRequest{Number: number, QueryCode: code})
			return err
		},
		"Withdraw": act(func(ctx context.Context, r *yizhanv1.CaseActionRequest) error {
			_, err := c.Withdraw(ctx, r)
			return err
		}),
		"Rate": act(func(ctx context.Context, r *yizhanv1.CaseActionRequest) error { _, err := c.Rate(ctx, r); return err }),
		"Complain": act(func(ctx context.Context, r *yizhanv1.CaseActionRequest) error {
			_, err := c.Complain(ctx, r)
			return err
		}),
	}
}

func TestQueryCodes(t *testing.T) {
	f := newCaseFed(t, 1)
	for _, n := range f.nodes {
		node.SlowBackOffForTest(n, time.Minute)
	}
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	filed := fileTobacco(t, agent, "张三")
	number, code := filed.GetNumber(), filed.GetQueryCode()
	if !regexp.MustCompile(`^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$`).MatchString(code) {
		t.Errorf("query code %q is not 12 characters of %s in groups of four", code, casework.QueryCodeAlphabet)
	}
	// The case keeps a keyed hash, under the registry's key 1.
	filing := f.nodes["dongcun-1"].Office().Cases().Events(number)[0].GetFiling()
	key, ok := f.nodes["dongcun-1"].Registry().QueryCodeKey(1)
	if filing.GetQueryCodeKeyId() != 1 || !ok || !bytes.Equal(filing.GetQueryCodeHash(), casework.QueryCodeMAC(key, number, code)) {
		t.Errorf("filing keeps key id %d and hash %x; want key 1's HMAC", filing.GetQueryCodeKeyId(), filing.GetQueryCodeHash())
	}
	countyNode := f.nodes["county-1"]
	waitFor(t, "the county holds the case", func() bool { _, ok := countyNode.Office().Cases().Case(number); return ok }, 20*time.Second)

	t.Run("unknown number and wrong code answer alike", func(t *testing.T) {
		want := status.Convert(errNoCaseForTest()).Proto()
		// Each node from its own address, with its own unknown number:
		// every call stays within the free failures.
		for i, name := range []string{"dongcun-1", "xicun-1", "chengguan-1", "county-1"} {
			unknown := casework.CaseNumber("450122101203", time.Now(), uint32(9990+i))
			c := dialFrom(t, f.nodes[name], "127.0.0."+string(rune('3'+i)))
			for call, do := range citizenCalls(caseClient(t, c)) {
				for what, args := range map[string][2]string{"unknown number": {unknown, code}, "wrong code": {number, "7KQ9-M3XP-2WHD"}} {
					err := do(c.ctx(), args[0], args[1])
					if got := status.Convert(err).Proto(); got.GetCode() != want.GetCode() || got.GetMessage() != want.GetMessage() {
						t.Errorf("%s at %s, %s: %v; want %v", call, name, what, err, want)
					}
				}
			}
		}
		unknown := casework.CaseNumber("450122101203", time.Now(), 9999)
		base := "http://" + f.nodes["xicun-1"].HTTPAddr()
		st1, body1 := restCall(t, "GET", base+"/v1/cases/"+unknown+"?query_code=7KQ9-M3XP-2WHD", "", "")
		st2, body2 := restCall(t, "GET", base+"/v1/cases/"+number+"?query_code=7KQ9-M3XP-2WHD", "", "")
		if st1 != 404 || st1 != st2 || body1["message"] != body2["message"] || body1["code"] != body2["code"] {
			t.Errorf("REST: unknown number %d %v, wrong code %d %v", st1, body1, st2, body2)
		}
	})

	t.Run("a hundred guesses at once", func(t *testing.T) {
		guesser := dialFrom(t, f.nodes["dongcun-1"], "127.0.0.20")
		cs := caseClient(t, guesser)
		var mu sync.Mutex
		got := map[codes.Code]int{}
		var start, wg sync.WaitGroup
		start.Add(1)
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				wrong, _ := casework.NewQueryCode(bytes.NewReader(bytes.Repeat([]byte{byte(i)}, 12)))
				_, err := cs.GetCase(guesser.ctx(), &yizhanv1.GetCaseRequest{Number: number, QueryCode: wrong})
				mu.Lock()
				got[status.Code(err)]++
				mu.Unlock()
			}()
		}
		start.Done()
		wg.Wait()
		t.Logf("answers by code: %v", got)
		if got[codes.NotFound] > 5 || got[codes.OK] > 0 || got[codes.NotFound]+got[codes.ResourceExhausted] != 100 {
			t.Errorf("answers %v: want at most 5 checked, the others held back", got)
		}
		if _, err := cs.GetCase(guesser.ctx(), &yizhanv1.GetCaseRequest{Number: number, QueryCode: code}); status.Code(err) != codes.ResourceExhausted {
			t.Errorf("the right code from the guessing address: %v, want ResourceExhausted", err)
		}
		citizen := dialFrom(t, f.nodes["dongcun-1"], "127.0.0.21")
		for call, do := range map[string]func() error{
			"GetCase": func() error {
				_, err := caseClient(t, citizen).GetCase(citizen.ctx(), &yizhanv1.GetCaseRequest{Number: number, QueryCode: code})
				return err
			},
			"typed in lower case, without dashes": func() error {
				_, err := caseClient(t, citizen).GetCase(citizen.ctx(), &yizhanv1.GetCaseRequest{Number: number, QueryCode: "  " + lowerNoDash(code)})
				return err
			},
		} {
			if err := do(); err != nil {
				t.Errorf("%s from another address: %v", call, err)
			}
		}
	})

	t.Run("a case filed before the keys", func(t *testing.T) {
		leader := f.countyLeader()
		reg := leader.Registry()
		item, err := reg.Item(tobacco().Code, 0)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		old := casework.CaseNumber(county, now, 9000)
		e, err := casework.NewFiling(casework.FileInput{Number: old, QueryCode: "94277256", Item: item, Office: county,
			Applicant: &yizhanv1.Applicant{Name: "李四", IdNumber: applicantID, Phone: "13907710002"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}},
			Actor:     casework.Actor{Username: casework.CitizenActor, Name: "申请人", Citizen: true}, At: now}, reg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := leader.Office().AppendEvents(context.Background(), old, casework.GenesisHash(old), e); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"county-1", "xicun-1"} {
			c := dialFrom(t, f.nodes[name], "127.0.0.30")
			if _, err := caseClient(t, c).GetCase(c.ctx(), &yizhanv1.GetCaseRequest{Number: old, QueryCode: "94277256"}); err != nil {
				t.Errorf("the 8-digit code of a case of key id 0, at %s: %v", name, err)
			}
		}
	})
}

func lowerNoDash(s string) string {
	var b []byte
	for i := range len(s) {
		c := s[i]
		switch {
		case c == '-':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
}

// errNoCaseForTest is the answer the API documents for a number no office
// holds and for a wrong query code.
func errNoCaseForTest() error {
	return status.Error(codes.NotFound, "no case with this number and query code")
}
