package raftgroup

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/walstore"
	"github.com/yizhan-gov/yizhan/registry"
)

// A backup is the office's state on one node at one raft index: the
// registry with the request IDs of its writes, and the case book. It is
// taken online (WriteBackup: the entries applied meanwhile wait only for
// the moment the registry is copied and a read view of the book opened)
// and written as
//
//	"yizhan-backup-1\n"
//	uvarint length, BackupInfo as JSON
//	a raft snapshot of this package with the book streamed (snapshots.go)
//	SHA-256 of everything before it
//
// RestoreBackup makes a node's data directory from it: the book in the
// database, a raft snapshot at the backup's index and term with the
// office's members, and raft's term. Started, the node holds the office as
// it was at the backup; a restored book is marked (casebook, restore.go)
// so that the office takes back from its neighbours what changed since.
const backupMagic = "yizhan-backup-1\n"

// maxBackupInfo bounds the JSON part of a backup read back.
const maxBackupInfo = 1 << 20

// BackupInfo describes a backup.
type BackupInfo struct {
	Office        string         `json:"office"`
	Node          string         `json:"node"` // the node it was taken on
	Index         uint64         `json:"index"`
	Term          uint64         `json:"term"`
	TakenAt       time.Time      `json:"taken_at"`
	RegistryIndex uint64         `json:"registry_index"`
	Cases         int64          `json:"cases"`
	Members       []BackupMember `json:"members"` // the office's raft configuration
}

// BackupMember is a member of the office's raft group in a backup.
type BackupMember struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Voter   bool   `json:"voter"`
}

// ErrBackupNotReady is a backup asked of a node that is replaying entries
// its book already holds (after a restart or a snapshot from its leader):
// the registry is not yet at the book's index. Ask again shortly.
var ErrBackupNotReady = errors.New("federation: the node is still replaying its raft log; ask for the backup again shortly")

// WriteBackup writes a backup of the office's state on this node to w.
func (g *Group) WriteBackup(w io.Writer, now time.Time) (BackupInfo, error) {
	f := g.cfg.FSM
	f.applyMu.Lock()
	index, term := f.lastIndex, f.lastTerm
	office := &peerv1.OfficeSnapshot{Registry: f.reg.Snapshot(), Requests: f.requests.snapshot()}
	view := f.cases.OpenView()
	// The count with the index, before the next entry moves it (read
	// after the lock, it said a case more than the backup held now and
	// then).
	cases := f.cases.Len()
	f.applyMu.Unlock()
	defer view.Close()
	bookIndex, err := view.Applied()
	if err != nil {
		return BackupInfo{}, fmt.Errorf("federation: backup: %w", err)
	}
	if bookIndex != 0 && bookIndex != index {
		// A follower that took its leader's snapshot: raft tells the
		// state machine the index only with the next entry, which a
		// quiet office (a night, when backups are taken) does not
		// write. Or a node started from a snapshot taken after raft's
		// own entries (a new leader's first, its barrier), which the
		// book does not see: the state machine starts at the
		// snapshot's index, above the book's. Either way the snapshot
		// it stored holds the book at bookIndex.
		index, term = g.storedSnapshotOf(bookIndex, index)
	}
	if index == 0 || bookIndex != index {
		return BackupInfo{}, ErrBackupNotReady
	}
	members, err := g.Members()
	if err != nil {
		return BackupInfo{}, fmt.Errorf("federation: backup: %w", err)
	}
	info := BackupInfo{Office: g.cfg.Office, Node: g.cfg.NodeID, Index: index, Term: term, TakenAt: now.UTC(),
		RegistryIndex: office.GetRegistry().GetIndex(), Cases: int64(cases)}
	for _, m := range members {
		info.Members = append(info.Members, BackupMember{ID: string(m.ID), Address: string(m.Address), Voter: m.Suffrage == raft.Voter})
	}
	js, err := json.Marshal(info)
	if err != nil {
		return BackupInfo{}, err
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(w, 256<<10)
	out := io.MultiWriter(bw, h)
	head := append([]byte(backupMagic), binary.AppendUvarint(nil, uint64(len(js)))...)
	if _, err := out.Write(append(head, js...)); err != nil {
		return BackupInfo{}, fmt.Errorf("federation: backup: %w", err)
	}
	if err := writeHead(out, index, office, bookStreamed); err != nil {
		return BackupInfo{}, fmt.Errorf("federation: backup: %w", err)
	}
	if streamed, err := view.Stream(out); err != nil {
		return BackupInfo{}, fmt.Errorf("federation: backup: %w", err)
	} else if streamed != index {
		// The book was replaced under the view (a snapshot from the
		// leader): the copy is not of one index.
		return BackupInfo{}, ErrBackupNotReady
	}
	if _, err := bw.Write(h.Sum(nil)); err != nil {
		return BackupInfo{}, fmt.Errorf("federation: backup: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return BackupInfo{}, fmt.Errorf("federation: backup: %w", err)
	}
	return info, nil
}

// storedSnapshotOf is bookIndex and a term for it when the newest
// snapshot this node stored holds the book at bookIndex (0, 0: none). The
// snapshot's own index may be above bookIndex: raft's own entries after
// the book's last (a new leader's first entry, its barrier) are not
// applied to the book, and a snapshot taken after them is at their
// index. Its term is then that of those entries, not below the term of
// the book's last entry: a backup restored with it starts the office's
// next election above every term its entries have.
//
// applied is the index of the last entry the state machine applied: 0
// after a snapshot from the leader, or the index of the snapshot it
// started from, no entry applied since. Past it, the state machine and
// the book move together, and a book below is one still replaying.
func (g *Group) storedSnapshotOf(bookIndex, applied uint64) (uint64, uint64) {
	list, err := g.snaps.List()
	if err != nil || len(list) == 0 || list[0].Index < bookIndex || applied != 0 && applied != list[0].Index {
		return 0, 0
	}
	return bookIndex, list[0].Term
}

// backupServedKey keeps, on this node (SetLocalValue), when the last
// backup it served whole was taken (unix seconds, big-endian).
const backupServedKey = "backup-served"

// NoteBackupServed records that this node served the backup info
// describes, whole: LastBackupServed says when it was taken, after a
// restart too.
func (g *Group) NoteBackupServed(info BackupInfo) error {
	return g.SetLocalValue(backupServedKey, binary.BigEndian.AppendUint64(nil, uint64(max(info.TakenAt.Unix(), 0))))
}

// LastBackupServed is when the last backup this node served whole was
// taken (NoteBackupServed); the zero time when it served none.
func (g *Group) LastBackupServed() (time.Time, error) {
	b, err := g.LocalValue(backupServedKey)
	if err != nil || len(b) != 8 {
		return time.Time{}, err
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b)), 0), nil
}

// ReadBackupInfo checks a whole backup file (its checksum) and returns
// what it holds.
func ReadBackupInfo(path string) (BackupInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return BackupInfo{}, err
	}
	defer f.Close()
	if err := checkBackupSum(f); err != nil {
		return BackupInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return BackupInfo{}, err
	}
	info, err := readBackupInfo(bufio.NewReader(f))
	return info, err
}

// checkBackupSum reads r to its end and checks the trailing SHA-256.
func checkBackupSum(r io.Reader) error {
	h := sha256.New()
	br := bufio.NewReaderSize(r, 1<<20)
	var tail [sha256.Size]byte
	n, err := io.ReadFull(br, tail[:])
	if err != nil {
		return fmt.Errorf("not a whole backup (%d bytes)", n)
	}
	// Hash everything but the last 32 bytes, keeping them in tail.
	buf := make([]byte, 1<<20)
	for {
		m, err := br.Read(buf)
		if m > 0 {
			if m >= sha256.Size {
				h.Write(tail[:])
				h.Write(buf[:m-sha256.Size])
				copy(tail[:], buf[m-sha256.Size:m])
			} else {
				h.Write(tail[:m])
				copy(tail[:], append(tail[m:], buf[:m]...))
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if !bytes.Equal(h.Sum(nil), tail[:]) {
		return errors.New("the backup's checksum does not match: the file is damaged or not whole")
	}
	return nil
}

func readBackupInfo(r *bufio.Reader) (BackupInfo, error) {
	var info BackupInfo
	magic := make([]byte, len(backupMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != backupMagic {
		return info, errors.New("not a yizhan backup")
	}
	n, err := binary.ReadUvarint(r)
	if err != nil || n > maxBackupInfo {
		return info, errors.New("not a yizhan backup: its description is unreadable")
	}
	js := make([]byte, n)
	if _, err := io.ReadFull(r, js); err != nil {
		return info, fmt.Errorf("read the backup: %w", err)
	}
	if err := json.Unmarshal(js, &info); err != nil {
		return info, fmt.Errorf("the backup's description: %w", err)
	}
	return info, nil
}

// RegistryIndexBump is how far at least a restored county's raft (and
// so registry) index jumps past its backup's: more than the entries an
// office commits between two backups.
const RegistryIndexBump = 100_000_000

// RestoredIndex is the raft index a node restored at now from the backup
// info describes starts at: the backup's, and for a county the later of
// the backup's plus RegistryIndexBump and now in microseconds since the
// epoch (about 1.8e15 in 2026; an index stays below 2^53, what a float64
// metric or a JSON number holds exactly, until the 2250s).
//
// The offices below follow the county's index: an office holding an
// index at or above the county's is sent nothing (it is ahead of the
// changelog, not behind it). A county restored twice from one backup, or
// again from an older one after it ran, must therefore start above every
// index any earlier life reached, and only the clock tells lives apart:
// a life started at the clock's microseconds (or below them) commits
// fewer than an entry a microsecond, so it is below the clock when the
// next restore reads it.
func RestoredIndex(info BackupInfo, now time.Time) uint64 {
	if tier, _ := registry.TierOf(info.Office); tier == yizhanv1.Tier_TIER_COUNTY {
		return max(info.Index+RegistryIndexBump, uint64(max(now.UnixMicro(), 0)))
	}
	return info.Index
}

// restoreClockSlack is how far before a county backup's time the clock of
// the machine restoring it may read: the clocks of two machines.
const restoreClockSlack = 5 * time.Minute

// RestoreOptions are RestoreBackup's choices.
type RestoreOptions struct {
	// Members replaces the backup's raft configuration: the office's nodes
	// are restored on other machines or addresses. Empty: the backup's.
	Members []BackupMember
	// Node is the node being restored; it must be one of the members.
	Node string
	// Now is the time of the restore (zero: the clock's), from which a
	// county's restored index is read (RestoredIndex).
	Now time.Time
}

// CheckRestore says why the backup described by info cannot be restored
// as opts ask, before anything is written.
func CheckRestore(info BackupInfo, opts RestoreOptions) error {
	if _, err := restoreConfiguration(info, opts); err != nil {
		return err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	if tier, _ := registry.TierOf(info.Office); tier == yizhanv1.Tier_TIER_COUNTY && now.Before(info.TakenAt.Add(-restoreClockSlack)) {
		return fmt.Errorf("this machine's clock reads %s, before the backup was taken (%s): a restored county's raft index is read from the clock, "+
			"so that it starts above any index the county reached before; set the clock right and restore again",
			now.UTC().Format(time.RFC3339), info.TakenAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// restoreConfiguration is the restored office's raft configuration. The
// node's name is checked first: an operator who restores a node under
// the wrong --name (a new machine's host name, the default) is told the
// members' names, and to restore under one of them.
func restoreConfiguration(info BackupInfo, opts RestoreOptions) (raft.Configuration, error) {
	members := info.Members
	if len(opts.Members) > 0 {
		members = opts.Members
		if !hasMember(members, opts.Node) {
			return raft.Configuration{}, fmt.Errorf("node %q is not among the members given (--members %s): restore it under one of their names (--name %s), or list it in --members",
				opts.Node, memberList(members), members[0].ID)
		}
	} else {
		if len(members) == 0 {
			return raft.Configuration{}, fmt.Errorf("the backup names no members of office %s: name them with --members", info.Office)
		}
		if !hasMember(members, opts.Node) {
			return raft.Configuration{}, fmt.Errorf("node %q is not a member of office %s in the backup, whose members are %s: restore under one of their names (--name %s)",
				opts.Node, info.Office, memberList(members), members[0].ID)
		}
		if len(members) > 1 {
			return raft.Configuration{}, fmt.Errorf("the backup is of an office of %d nodes: restore every one of them from it, naming them all with --members (the same list on each); "+
				"to replace one node of an office whose other nodes run, give it an empty data directory and --join instead", len(members))
		}
	}
	conf := raft.Configuration{}
	for _, m := range members {
		s := raft.Server{ID: raft.ServerID(m.ID), Address: raft.ServerAddress(m.Address), Suffrage: raft.Nonvoter}
		if m.Voter {
			s.Suffrage = raft.Voter
		}
		conf.Servers = append(conf.Servers, s)
	}
	return conf, nil
}

// hasMember says whether id names one of members.
func hasMember(members []BackupMember, id string) bool {
	for _, m := range members {
		if m.ID == id {
			return true
		}
	}
	return false
}

// memberList writes members as an operator types them: NAME=ADDR, …
func memberList(members []BackupMember) string {
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = m.ID + "=" + m.Address
	}
	return strings.Join(out, ", ")
}

// RestoreBackup makes a node's state in dir (empty of raft state) and db
// (empty) from the backup at path: see the top of this file. The backup
// is checked whole before anything is written.
func RestoreBackup(path, dir string, db *badger.DB, opts RestoreOptions) (BackupInfo, error) {
	info, err := ReadBackupInfo(path)
	if err != nil {
		return info, err
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if err := CheckRestore(info, opts); err != nil {
		return info, err
	}
	conf, err := restoreConfiguration(info, opts)
	if err != nil {
		return info, err
	}
	snapDir := filepath.Join(dir, "snapshots")
	if old, _ := filepath.Glob(filepath.Join(snapDir, "*")); len(old) > 0 {
		return info, fmt.Errorf("%s holds snapshots: restore into a new data directory (move the old one aside)", snapDir)
	}
	if _, err := os.Stat(filepath.Join(dir, "raft-wal")); err == nil {
		return info, fmt.Errorf("%s holds a raft log: restore into a new data directory (move the old one aside)", dir)
	}
	book, err := casebook.Open(db, info.Office)
	if err != nil {
		return info, err
	}
	if book.Applied() != 0 || book.Len() != 0 {
		return info, fmt.Errorf("the database in %s holds a case book: restore into a new data directory (move the old one aside)", dir)
	}

	f, err := os.Open(path)
	if err != nil {
		return info, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	if _, err := readBackupInfo(r); err != nil {
		return info, err
	}
	h, err := readHead(r)
	if err != nil {
		return info, err
	}
	if h.book != bookStreamed || h.bookIndex != info.Index {
		return info, errors.New("the backup's snapshot does not carry its case book")
	}
	if err := book.Restore(r); err != nil {
		return info, err
	}
	if book.Applied() != info.Index {
		return info, fmt.Errorf("the backup's book is at raft index %d, the backup says %d", book.Applied(), info.Index)
	}
	// The county authors the registry, its index the raft index: the
	// offices below may hold registry entries the backup lacks (written
	// after it, lost with the county, or by an earlier restore of it).
	// The restored county starts its history above any index it reached
	// before (RestoredIndex), with no changelog, so that every office
	// below, whatever it holds, takes the county's registry whole (the
	// feed sends a snapshot to an office whose index the changelog does
	// not follow) and no new entry is taken for a lost one.
	index := RestoredIndex(info, opts.Now)
	if index != info.Index {
		h.office.Registry.Index = index
		h.office.Registry.Changelog = nil
	}
	if err := book.MarkRestored(info.TakenAt, index); err != nil {
		return info, err
	}
	if err := db.Sync(); err != nil {
		return info, err
	}

	// Raft: a snapshot at the backup's index and term with the members,
	// the book live in the database (as a snapshot taken here), and the
	// term, so that the office's next leader is elected in a later term
	// than any entry it holds.
	if err := os.MkdirAll(snapDir, 0o700); err != nil {
		return info, err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(snapDir, 2, hclog.NewNullLogger())
	if err != nil {
		return info, err
	}
	// The transport only encodes the members for snapshot version 0's
	// peer list, as every transport does: the address's bytes.
	_, trans := raft.NewInmemTransport("")
	sink, err := snaps.Create(raft.SnapshotVersionMax, index, info.Term, conf, index, trans)
	if err != nil {
		return info, err
	}
	if err := writeHead(sink, index, h.office, bookLive); err != nil {
		sink.Cancel()
		return info, err
	}
	if err := sink.Close(); err != nil {
		return info, err
	}
	store, err := walstore.Open(filepath.Join(dir, "raft-wal"), slog.Default())
	if err != nil {
		return info, err
	}
	if err := store.SetUint64([]byte("CurrentTerm"), info.Term); err != nil {
		store.Close()
		return info, err
	}
	return info, store.Close()
}

// SnapshotIndex is the raft index of the newest snapshot in the data
// directory dir: in one RestoreBackup made, the index the node starts at.
func SnapshotIndex(dir string) (uint64, error) {
	snaps, err := raft.NewFileSnapshotStoreWithLogger(filepath.Join(dir, "snapshots"), 2, hclog.NewNullLogger())
	if err != nil {
		return 0, err
	}
	list, err := snaps.List()
	if err != nil {
		return 0, err
	}
	if len(list) == 0 {
		return 0, fmt.Errorf("%s holds no raft snapshot", dir)
	}
	return list[0].Index, nil
}
