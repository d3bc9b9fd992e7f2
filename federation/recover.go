package federation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/registry"
)

// Backups and recovery after a restore (docs/OPERATIONS.md).
//
// `yizhan backup` asks a node of the office for a backup over the peer
// port, with a certificate of the same office (Peer.Backup). A node
// restored from it holds the office as it was then; its book is marked
// restored (casebook, restore.go). The office's leader then takes back
// from each neighbouring office (the parent, and every child with nodes in
// the directory) the cases through it that changed since the backup
// (Peer.CasesThrough, paged), stores them as mail from there, and, when
// every neighbour has answered to the last page, proposes FinishRecovery.
// A neighbour that cannot be reached is asked again; meanwhile the office
// works, numbering its cases above the restored floor.

// backupChunk is the size of a Peer.Backup message.
const backupChunk = 1 << 20

// Backup streams a backup of the office's state on this node.
func (s *PeerServer) Backup(req *peerv1.BackupRequest, stream grpc.ServerStreamingServer[peerv1.BackupChunk]) error {
	o := s.o
	id, err := pki.PeerIdentity(stream.Context())
	if err != nil {
		return status.Error(codes.Unauthenticated, err.Error())
	}
	if id.Office != o.cfg.Office || req.GetOfficeCode() != o.cfg.Office {
		return status.Errorf(codes.PermissionDenied, "office %s may not take a backup of office %s", id.Office, o.cfg.Office)
	}
	if ok, why := o.CaughtUp(); !ok {
		return status.Errorf(codes.Unavailable, "%s is catching up: %s", o.cfg.Node, why)
	}
	if err := o.firstStartUnavailable("serves no backup of it"); err != nil {
		return err
	}
	w := &chunkWriter{send: func(b []byte) error { return stream.Send(&peerv1.BackupChunk{Data: b}) }}
	info, err := o.cfg.Group.WriteBackup(w, o.cfg.Now())
	if errors.Is(err, raftgroup.ErrBackupNotReady) {
		return status.Error(codes.Unavailable, err.Error())
	}
	if err == nil {
		err = w.flush()
	}
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	o.log.Info("backup taken", "by", id.Node, "index", info.Index, "cases", info.Cases)
	if err := o.cfg.Group.NoteBackupServed(info); err != nil {
		o.log.Warn("record the backup's time (yizhan_backup_last_taken_timestamp_seconds)", "err", err)
	}
	return nil
}

// chunkWriter sends what is written in messages of backupChunk bytes.
type chunkWriter struct {
	buf  []byte
	send func([]byte) error
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		take := min(len(p), backupChunk-len(w.buf))
		w.buf = append(w.buf, p[:take]...)
		p = p[take:]
		if len(w.buf) == backupChunk {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.send(w.buf)
	w.buf = nil // the message may still hold the old slice
	return err
}

// FetchBackup asks the nodes at addrs, in turn, for a backup of office and
// writes it to w; a node that fails before sending anything is passed
// over for the next.
func FetchBackup(ctx context.Context, dial func(addr string) (*grpc.ClientConn, error), addrs []string, office string, w io.Writer) error {
	var last error
	for _, addr := range addrs {
		conn, err := dial(addr)
		if err != nil {
			last = err
			continue
		}
		wrote, err := fetchBackup(ctx, conn, office, w)
		conn.Close()
		if err == nil {
			return nil
		}
		last = fmt.Errorf("%s: %w", addr, err)
		if wrote {
			return last // w holds part of a backup: the caller starts over
		}
	}
	if last == nil {
		last = errors.New("no node address given")
	}
	return last
}

func fetchBackup(ctx context.Context, conn *grpc.ClientConn, office string, w io.Writer) (wrote bool, err error) {
	stream, err := peerv1.NewPeerClient(conn).Backup(ctx, &peerv1.BackupRequest{OfficeCode: office})
	if err != nil {
		return false, err
	}
	for {
		c, err := stream.Recv()
		if err == io.EOF {
			return wrote, nil
		}
		if err != nil {
			return wrote, err
		}
		if _, err := w.Write(c.GetData()); err != nil {
			return true, err
		}
		wrote = true
	}
}

// casesThroughPage bounds a page of Peer.CasesThrough.
const (
	casesThroughCases = 64
	casesThroughBytes = 1 << 20
)

// CasesThrough answers a neighbouring office restored from a backup with
// a page of the cases through it that this node's book holds.
func (s *PeerServer) CasesThrough(ctx context.Context, req *peerv1.CasesThroughRequest) (*peerv1.CasesThroughResponse, error) {
	o := s.o
	id, err := pki.PeerIdentity(ctx)
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, err.Error())
	}
	if !mayAskCasesThrough(id.Office, o, req.GetWhetherAny()) || req.GetOfficeCode() != id.Office {
		return nil, status.Errorf(codes.PermissionDenied, "office %s may not ask office %s for the cases of office %s", id.Office, o.cfg.Office, req.GetOfficeCode())
	}
	if ok, why := o.CaughtUp(); !ok {
		return nil, status.Errorf(codes.Unavailable, "%s is catching up: %s", o.cfg.Node, why)
	}
	// An office that does not know yet whether it ran before holds
	// nothing yet: its "none" would tell an office below that asks
	// whether it ran before that it did not (firststart.go), which then
	// asks the county.
	if err := o.CanNumber(); err != nil {
		return nil, status.Errorf(codes.Unavailable, "%s cannot say which cases it holds: %v", o.cfg.Node, err)
	}
	maxCases := casesThroughCases
	if req.GetWhetherAny() {
		maxCases = 1
	}
	msgs, next, err := o.cfg.FSM.Cases().CasesThrough(req.GetOfficeCode(), time.Unix(0, req.GetSinceUnixNano()),
		req.GetPageToken(), maxCases, casesThroughBytes)
	if err != nil {
		var ve *registry.ValidationError
		if errors.As(err, &ve) {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		return nil, status.Error(codes.Internal, err.Error())
	}
	if req.GetWhetherAny() {
		// Whether the office ran before (firststart.go): no case is sent.
		if len(msgs) > 0 {
			return &peerv1.CasesThroughResponse{HoldsAny: true}, nil
		}
		return &peerv1.CasesThroughResponse{NextPageToken: next}, nil
	}
	return &peerv1.CasesThroughResponse{Messages: msgs, NextPageToken: next}, nil
}

// mayAskCasesThrough reports whether office may ask o for its cases:
// o's parent or child (a restored office's neighbour), or, at the county,
// any office of the county, only whether the county holds any (an office
// started on an empty data directory asks the county whether it ran
// before when its parent holds none or does not answer: firststart.go).
func mayAskCasesThrough(office string, o *Office, whetherAny bool) bool {
	return isNeighbour(office, o.cfg.Office) || whetherAny && o.IsCounty() && office != o.cfg.Office && CountyOf(office) == o.cfg.Office
}

// isNeighbour reports whether office a is the parent or a child of b.
func isNeighbour(a, b string) bool {
	return a != "" && b != "" && (registry.ParentCode(a) == b || registry.ParentCode(b) == a)
}

// recoverSlack is how long before the backup a case changed that is
// still taken back: events that reached a neighbour after the backup but
// were made up to this long before it.
const recoverSlack = 90 * 24 * time.Hour

// recoverInterval is how often the leader of a restored office tries the
// neighbours it has not yet heard out.
const recoverInterval = 5 * time.Second

// recoverLoop takes back, on the leader of an office restored from a
// backup, what its neighbours hold since (see the top of this file).
func (o *Office) recoverLoop(ctx context.Context) {
	done := map[string]bool{}     // neighbours heard out by this leader
	tokens := map[string]string{} // where the pages of the others stand
	var term uint64
	t := time.NewTicker(recoverInterval)
	defer t.Stop()
	for {
		// Checked on every tick: a node may be marked later (a snapshot
		// of a restored book from its leader) and lead later.
		if since, restored := o.cfg.FSM.Cases().Restored(); restored && o.LeaderReady() {
			if cur := o.cfg.Group.CurrentTerm(); cur != term {
				term, done, tokens = cur, map[string]bool{}, map[string]string{} // a new leader asks again
			}
			o.recoverOnce(ctx, since, done, tokens)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// recoverOnce asks every neighbour not yet done, from the page it had
// reached; it reports whether the recovery is finished.
func (o *Office) recoverOnce(ctx context.Context, since time.Time, done map[string]bool, tokens map[string]string) bool {
	// A case's time is its newest event's, by the clock of the office
	// that made it, and an event can reach a neighbour long after it was
	// made (a village's link down for weeks): take back what changed in
	// the recoverSlack before the backup too. A case taken again costs
	// only its transfer.
	since = since.Add(-recoverSlack)
	for _, n := range o.neighbours() {
		if done[n] {
			continue
		}
		if err := o.takeBackFrom(ctx, n, since, tokens); err != nil {
			o.log.Warn("cannot yet take back the cases of a neighbouring office after a restore", "office", n, "err", err)
			continue
		}
		done[n] = true
	}
	for _, n := range o.neighbours() {
		if !done[n] {
			return false
		}
	}
	day := o.cfg.Now().In(registry.CST).Format("20060102")
	if _, err := o.ProposeCase(ctx, &peerv1.CaseCommand{AtUnixNano: o.cfg.Now().UnixNano(),
		Op: &peerv1.CaseCommand_FinishRecovery{FinishRecovery: &peerv1.FinishRecovery{ThroughDay: day}}}); err != nil {
		o.log.Warn("cannot finish the recovery after a restore", "err", err)
		return false
	}
	o.log.Info("took back from every neighbouring office what changed since the backup", "neighbours", len(done))
	return true
}

// neighbours are the offices to ask after a restore: the parent, and the
// children that have nodes (an office of the tree that runs none holds
// nothing).
func (o *Office) neighbours() []string {
	var out []string
	if p := registry.ParentCode(o.cfg.Office); p != "" {
		out = append(out, p)
	}
	for _, c := range o.reg.Children(o.cfg.Office) {
		if len(o.routes.OfficeTargets(c.GetCode())) > 0 {
			out = append(out, c.GetCode())
		}
	}
	return out
}

// takeBackFrom takes the pages of office's cases through this office,
// from tokens[office] on, noting there the page it reaches.
func (o *Office) takeBackFrom(ctx context.Context, office string, since time.Time, tokens map[string]string) error {
	for {
		token := tokens[office]
		var resp *peerv1.CasesThroughResponse
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := o.fwd.Read(cctx, o.routes.OfficeTargets(office), func(ctx context.Context, conn *grpc.ClientConn) error {
			var err error
			resp, err = peerv1.NewPeerClient(conn).CasesThrough(ctx, &peerv1.CasesThroughRequest{
				OfficeCode: o.cfg.Office, SinceUnixNano: since.UnixNano(), PageToken: token})
			return err
		})
		cancel()
		if err != nil {
			return err
		}
		if n := len(resp.GetMessages()); n > 0 {
			refused, err := o.mail.TakeBack(ctx, office, resp.GetMessages())
			if err != nil {
				return err
			}
			o.log.Info("took back cases after a restore", "from", office, "cases", n, "refused", refused)
		}
		tokens[office] = resp.GetNextPageToken()
		if tokens[office] == "" {
			return nil
		}
	}
}
