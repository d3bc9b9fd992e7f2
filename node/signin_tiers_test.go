package node_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The sign-in limits are kept by each deciding office (its leader), and
// every office at or above a staff member's office decides its sign-ins
// (so that a village cut off still signs its staff in, and the county
// signs in anyone): one address guessing a village agent's password gets
// the free failures at the village, the township and the county, each
// once (node/DESIGN.md's arithmetic counts the three).
func TestSignInLimitsHoldAtEachDecidingOffice(t *testing.T) {
	f := newCaseFed(t, 1)
	checked := 0 // wrong passwords actually verified, from one address
	for _, name := range []string{"dongcun-1", "chengguan-1", "county-1"} {
		before := checked
		c := dial(t, f.nodes[name])
		for range 8 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := c.auth.Login(ctx, &yizhanv1.LoginRequest{Username: "dongcun", Password: "wrong-guess-000"})
			cancel()
			switch status.Code(err) {
			case codes.Unauthenticated:
				checked++
			case codes.ResourceExhausted:
			default:
				t.Fatalf("at %s: %v", name, err)
			}
		}
		if n := checked - before; n != 5 {
			t.Errorf("at %s, %d of 8 wrong passwords were checked, want the 5 free failures", name, n)
		}
	}
}
