package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/yizhan-gov/yizhan/api/openapi"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/web"
)

// httpServer serves REST (grpc-gateway), the web UI, the OpenAPI
// document, metrics (unless Config.MetricsAddr moves them) and health over
// HTTP/1.1, and with grpc set client gRPC over HTTP/2 without TLS (h2c),
// on one port: portMux sorts the connections.
type httpServer struct {
	srv  *http.Server
	grpc *grpc.Server // nil: HTTP only (the metrics address)

	mu       sync.Mutex
	mux      *portMux // set by serve
	shutDown bool
}

func newHTTPServer(n *Node, reg yizhanv1.RegistryServiceServer, au yizhanv1.AuthServiceServer, cl yizhanv1.ClusterServiceServer, cs yizhanv1.CaseServiceServer, sup yizhanv1.SupervisionServiceServer, du yizhanv1.DutyServiceServer, ro yizhanv1.DutyRosterServiceServer) (*httpServer, error) {
	gate := newBookGate(n)
	var gw *runtime.ServeMux
	gw = runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{
			Marshaler: &runtime.JSONPb{
				MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: false},
				UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
			},
		}),
		runtime.WithMiddlewares(n.metrics.gatewayMiddleware, gate.gatewayMiddleware(&gw), queryCodeFromHeader),
		runtime.WithForwardResponseOption(gate.forwardResponse),
		runtime.WithErrorHandler(gate.errorHandler), // every answer with its reason (errors.go)
		// Idempotency-Key reaches the handlers as the request ID of a
		// write (requests.go); the other headers as grpc-gateway's default.
		runtime.WithIncomingHeaderMatcher(func(key string) (string, bool) {
			if strings.EqualFold(key, idempotencyKey) {
				return idempotencyKey, true
			}
			return runtime.DefaultHeaderMatcher(key)
		}),
	)
	ctx := context.Background()
	if err := yizhanv1.RegisterRegistryServiceHandlerServer(ctx, gw, reg); err != nil {
		return nil, fmt.Errorf("node: gateway: %w", err)
	}
	if err := yizhanv1.RegisterAuthServiceHandlerServer(ctx, gw, au); err != nil {
		return nil, fmt.Errorf("node: gateway: %w", err)
	}
	if err := yizhanv1.RegisterClusterServiceHandlerServer(ctx, gw, cl); err != nil {
		return nil, fmt.Errorf("node: gateway: %w", err)
	}
	if err := yizhanv1.RegisterCaseServiceHandlerServer(ctx, gw, cs); err != nil {
		return nil, fmt.Errorf("node: gateway: %w", err)
	}
	if err := yizhanv1.RegisterSupervisionServiceHandlerServer(ctx, gw, sup); err != nil {
		return nil, fmt.Errorf("node: gateway: %w", err)
	}
	if err := yizhanv1.RegisterDutyServiceHandlerServer(ctx, gw, du); err != nil {
		return nil, fmt.Errorf("node: gateway: %w", err)
	}
	if err := yizhanv1.RegisterDutyRosterServiceHandlerServer(ctx, gw, ro); err != nil {
		return nil, fmt.Errorf("node: gateway: %w", err)
	}

	mux := http.NewServeMux()
	mux.Handle("/v1/", gw)
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openapi.Spec)
	})
	if n.cfg.MetricsAddr == "" {
		mux.Handle("GET /metrics", n.metrics.handler())
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "node": n.cfg.Name, "office": n.cfg.Office})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, why := n.checkReady()
		code := http.StatusOK
		if !ok {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, map[string]any{"ready": ok, "reason": why, "node": n.cfg.Name, "office": n.cfg.Office})
	})
	webHandler, err := web.New(web.Config{Registry: reg, Auth: au, Cluster: cl, Cases: cs, Supervision: sup, Duty: du, DutyRoster: ro,
		Office: n.cfg.Office, Node: n.cfg.Name, Logger: n.log, Now: n.now,
		SecureCookies: n.cfg.BehindTLS, CSRFKey: officeCSRFKey(n.office.Registry(), n.cfg.Office), Gate: gate})
	if err != nil {
		return nil, fmt.Errorf("node: web ui: %w", err)
	}
	mux.Handle("/", webHandler)

	root := n.limitHTTP(n.clientAddrMiddleware(mux))
	var protocols http.Protocols
	protocols.SetHTTP1(true) // HTTP/2 without TLS is client gRPC's (portMux)
	return &httpServer{grpc: n.publicServer, srv: &http.Server{
		Handler:           root,
		Protocols:         &protocols,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}}, nil
}

// queryCodeHeader is a header a citizen's client may send the query code
// in, instead of the query_code parameter of a GET (GetCase,
// ListCaseEvents, GetQuestion, the follow-ups): an address is written in
// the access logs of the proxies on the way, a header is not. The
// parameter, when given, wins.
const queryCodeHeader = "X-Yizhan-Query-Code"

// queryCodeFromHeader is the gateway middleware that reads
// queryCodeHeader as the query_code parameter.
func queryCodeFromHeader(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, pathParams map[string]string) {
		if code := r.Header.Get(queryCodeHeader); code != "" {
			if q := r.URL.Query(); q.Get("query_code") == "" {
				q.Set("query_code", code)
				r.URL.RawQuery = q.Encode()
			}
		}
		next(w, r, pathParams)
	}
}

// newMetricsServer serves /metrics on Config.MetricsAddr, and with
// Config.Pprof Go's profiles under /debug/pprof/ and the case book's
// probe under /debug/book.
func newMetricsServer(n *Node) *httpServer {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", n.metrics.handler())
	if n.cfg.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("GET /debug/book", n.probeBook)
	}
	return &httpServer{srv: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       DefaultBodyReadTimeout,
		WriteTimeout:      DefaultWriteTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}}
}

// serve serves ln until shutdown. It is called once, before shutdown.
func (h *httpServer) serve(ln net.Listener) error {
	if h.grpc == nil {
		return serveHTTP(h.srv, ln)
	}
	h.mu.Lock()
	if h.shutDown {
		h.mu.Unlock()
		ln.Close()
		return nil
	}
	h.mux = newPortMux(ln, readHeaderTimeout)
	h.mu.Unlock()
	errs := make(chan error, 2)
	go func() { errs <- h.grpc.Serve(h.mux.grpc) }()
	go func() { errs <- serveHTTP(h.srv, h.mux.http) }()
	err := h.mux.serve()
	// The port is closed: both halves stop (shutdown stops the servers).
	for range 2 {
		if e := <-errs; err == nil && e != nil && !errors.Is(e, net.ErrClosed) {
			err = e
		}
	}
	return err
}

func serveHTTP(srv *http.Server, ln net.Listener) error {
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// shutdown stops taking connections and waits, until ctx ends, for the
// requests and calls in flight; then it cuts the rest.
func (h *httpServer) shutdown(ctx context.Context) {
	h.mu.Lock()
	h.shutDown = true
	if h.mux != nil {
		h.mux.ln.Close()
	}
	h.mu.Unlock()
	if h.grpc != nil {
		stopped := make(chan struct{})
		go func() { h.grpc.GracefulStop(); close(stopped) }()
		defer func() {
			select {
			case <-stopped:
			case <-ctx.Done():
				h.grpc.Stop()
				<-stopped
			}
		}()
	}
	h.srv.Shutdown(ctx)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func timestampOf(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// probeBook answers what one read of the case book sees of an office's
// listing and of some cases (casebook.Probe), as JSON:
// /debug/book?office=<code>&case=<number>&case=… (at most 100 cases). It
// is for an operator, or the fault harness, finding out why a listing
// leaves out cases the book holds. It reads the office's whole listing
// (twice): on a large book it costs what listing every case costs.
func (n *Node) probeBook(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	office, numbers := q.Get("office"), q["case"]
	switch {
	case office == "":
		http.Error(w, "office: required (an office code)", http.StatusBadRequest)
		return
	case len(numbers) > 100:
		http.Error(w, fmt.Sprintf("case: at most 100, got %d", len(numbers)), http.StatusBadRequest)
		return
	}
	p, err := n.office.Cases().Probe(office, numbers)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(p)
}
