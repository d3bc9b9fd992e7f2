package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Turn is serve's answer to one `put N`: the latency of each put, in
// microseconds, in the order made.
type Turn struct {
	Micros []int64 `json:"micros"`
}

// serve starts a single-member etcd with one client, warms it up, and
// writes `{"ready":true}`; then, for each line `put N` it reads from in,
// it writes back everything the page cache holds (syscall.Sync, as each
// measurement does), makes N timed puts one after another and writes
// their latencies as one JSON line (Turn). The end of in stops etcd.
//
// A benchmark on a machine whose speed drifts within minutes measures
// one client's latency beside etcd's in turns of a few hundred
// operations, its own and etcd's alternating, so that both meet the same
// machine; one measurement after the other (measure) meets two.
func serve(in io.Reader, out io.Writer, o opts) error {
	tmp, err := os.MkdirTemp(o.dir, "etcd-anchor-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cl, err := startCluster(tmp, 1, o.logLevel)
	if err != nil {
		return err
	}
	defer cl.close()
	leader, err := cl.leaderEndpoint()
	if err != nil {
		return err
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{leader}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer cli.Close()
	value := strings.Repeat("y", o.valueSize)
	seq := 0
	put := func() (time.Duration, error) {
		seq++
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		start := time.Now()
		_, err := cli.Put(ctx, fmt.Sprintf("/anchor/%09d", seq), value)
		return time.Since(start), err
	}
	for range 1 + o.warmup {
		if _, err := put(); err != nil {
			return fmt.Errorf("warm-up put: %w", err)
		}
	}
	enc := json.NewEncoder(out)
	if err := enc.Encode(map[string]bool{"ready": true}); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		verb, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		n, err := strconv.Atoi(arg)
		if verb != "put" || err != nil || n < 1 || n > 1_000_000 {
			return fmt.Errorf("want `put N` (N from 1 to 1000000), got %q", sc.Text())
		}
		syscall.Sync()
		t := Turn{Micros: make([]int64, 0, n)}
		for range n {
			d, err := put()
			if err != nil {
				return fmt.Errorf("put: %w", err)
			}
			t.Micros = append(t.Micros, d.Microseconds())
		}
		if err := enc.Encode(t); err != nil {
			return err
		}
	}
	return sc.Err()
}
