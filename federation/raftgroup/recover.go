package raftgroup

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"github.com/yizhan-gov/yizhan/federation/walstore"
)

// An office that lost its majority for good (a county of three whose two
// disks died) has a survivor that holds every write the office
// acknowledged with it among the majority (not those acknowledged by the
// two lost nodes alone), and can never lead: no quorum. --force-new-cluster (etcd's
// name and meaning; hashicorp/raft's RecoverCluster, Consul's peers.json)
// makes that node the only voter of its office, keeping what its log
// holds, before raft starts; the office then grows again with --join.
//
// It is raft.RecoverCluster done for our stores rather than a call to it:
// RecoverCluster restores the newest snapshot into the state machine,
// which for us would mean streaming the whole case book out of badger and
// back in (snapshots.go: a snapshot taken here only notes that the book is
// live), while FSM.Recover has already brought the registry to the newest
// snapshot and the book is on disk. The rest is RecoverCluster's: apply
// every entry of the log past the snapshot (the book skips those it
// holds), take a snapshot at the log's end whose configuration is this
// node alone, and drop the log, so that no configuration entry in it
// counts any more.

// recoveredFile, in the data directory, records a recovery
// (recoveryRecord): a node started with --force-new-cluster again after
// its office has grown refuses, rather than split it.
const recoveredFile = "force-new-cluster.json"

// ErrNothingToRecover is --force-new-cluster on a data directory that
// holds no raft state.
var ErrNothingToRecover = errors.New("federation: --force-new-cluster needs the data directory of a node of the office; this one holds no raft state")

// ErrRecoveredBefore is --force-new-cluster on a node recovered by it
// before whose office has other members again.
var ErrRecoveredBefore = errors.New("federation: --force-new-cluster again on a node it recovered before, whose office has other members since")

// recoveryRecord is what recoveredFile holds.
type recoveryRecord struct {
	Node    string    `json:"node"`
	Address string    `json:"raft_address"`
	Index   uint64    `json:"raft_index"`
	Term    uint64    `json:"raft_term"`
	At      time.Time `json:"at"`
	Dropped []string  `json:"dropped_members"` // the members the office had, this node aside
}

// forceNewCluster makes this node, at its advertised raft address, the
// only voter of its office, with every entry its log holds applied (see
// above). On a node that is its office's only voter already (the flag
// left on after a recovery), it does nothing. It runs before raft starts,
// after FSM.Recover.
func forceNewCluster(cfg GroupConfig, store *walstore.Store, files *raft.FileSnapshotStore) error {
	log := cfg.Logger
	has, err := raft.HasExistingState(store, store, files)
	if err != nil {
		return fmt.Errorf("federation: --force-new-cluster: %w", err)
	}
	if !has {
		return fmt.Errorf("%w (%s): start it on the surviving node's own data directory", ErrNothingToRecover, cfg.Dir)
	}
	snapIndex, snapTerm, latest, err := latestConfiguration(store, files)
	if err != nil {
		return fmt.Errorf("federation: --force-new-cluster: %w", err)
	}
	self := raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(cfg.NodeID), Address: cfg.Transport.LocalAddr()}
	recorded := filepath.Join(cfg.Dir, recoveredFile)
	if len(latest.Servers) == 1 && latest.Servers[0] == self {
		log.Warn("--force-new-cluster: this node is already its office's only voter, nothing to recover; remove the flag (docs/OPERATIONS.md, \"An office that lost its majority\")",
			"raft_address", self.Address)
		// A recovery that stopped after its snapshot, before its record,
		// leaves none: written now, so that the flag left on refuses once
		// the office has grown again rather than split it.
		if _, err := os.Stat(recorded); errors.Is(err, os.ErrNotExist) {
			if err := writeRecord(recorded, recoveryRecord{Node: cfg.NodeID, Address: string(self.Address), Index: snapIndex, Term: snapTerm, At: time.Now().UTC()}); err != nil {
				return fmt.Errorf("federation: --force-new-cluster: %w", err)
			}
		}
		return nil
	}
	var others []string
	for _, s := range latest.Servers {
		if s.ID != self.ID {
			others = append(others, fmt.Sprintf("%s (raft %s)", s.ID, s.Address))
		}
	}
	if b, err := os.ReadFile(recorded); err == nil && len(others) > 0 {
		var was recoveryRecord
		_ = json.Unmarshal(b, &was)
		return fmt.Errorf("%w: it made this node its office's only voter at raft index %d on %s, and the office has members %s since. "+
			"Remove --force-new-cluster: forcing again would split the office if they run. If the office has lost its majority once more, "+
			"remove %s first (docs/OPERATIONS.md, \"An office that lost its majority\")",
			ErrRecoveredBefore, was.Index, was.At.Format(time.RFC3339), strings.Join(others, ", "), recorded)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("federation: --force-new-cluster: %w", err)
	}

	first, err := store.FirstIndex()
	if err != nil {
		return fmt.Errorf("federation: --force-new-cluster: raft's log: %w", err)
	}
	last, err := store.LastIndex()
	if err != nil {
		return fmt.Errorf("federation: --force-new-cluster: raft's log: %w", err)
	}
	if last > snapIndex && first > snapIndex+1 {
		return fmt.Errorf("federation: --force-new-cluster: raft's log starts at %d, past the newest snapshot's index %d: entries are missing", first, snapIndex)
	}
	log.Warn("--force-new-cluster: making this node its office's only voter; every entry of its log is applied, committed or not",
		"raft_address", self.Address, "dropped_members", strings.Join(others, ", "), "snapshot_index", snapIndex, "log_last_index", last)

	// Apply the log past the snapshot, in batches, as raft would.
	lastIndex, lastTerm := snapIndex, snapTerm
	applied, refused := 0, 0
	const batch = 256
	for from := snapIndex + 1; from <= last; from += batch {
		var logs []*raft.Log
		for i := from; i <= last && i < from+batch; i++ {
			l := new(raft.Log)
			if err := store.GetLog(i, l); err != nil {
				return fmt.Errorf("federation: --force-new-cluster: read raft entry %d: %w", i, err)
			}
			logs = append(logs, l)
		}
		for i, res := range cfg.FSM.ApplyBatch(logs) {
			if logs[i].Type != raft.LogCommand {
				continue
			}
			applied++
			if r, ok := res.(*ApplyResult); ok && r.Err != nil {
				refused++ // refused alike on every node: part of the state
			}
		}
		lastIndex, lastTerm = logs[len(logs)-1].Index, logs[len(logs)-1].Term
	}
	if lastIndex == 0 {
		return fmt.Errorf("%w (%s): it holds a term but no entry and no snapshot", ErrNothingToRecover, cfg.Dir)
	}

	// The survivor lacks what was acknowledged with the lost members as
	// the majority: as after a restore (casebook, restore.go), its book
	// numbers the day's cases above a floor, so that no such case's number
	// is given again, and its leader takes back from the neighbouring
	// offices what changed meanwhile (federation, recover.go).
	book := cfg.FSM.Cases()
	if err := book.MarkRestored(time.Now(), book.Applied()); err != nil {
		return fmt.Errorf("federation: --force-new-cluster: %w", err)
	}

	// The snapshot at the log's end, with this node alone as the
	// configuration (committed "at index 1", as RecoverCluster writes it).
	// Persist syncs the book first.
	alone := raft.Configuration{Servers: []raft.Server{self}}
	snap, err := cfg.FSM.Snapshot()
	if err != nil {
		return fmt.Errorf("federation: --force-new-cluster: snapshot: %w", err)
	}
	sink, err := files.Create(raft.SnapshotVersionMax, lastIndex, lastTerm, alone, 1, cfg.Transport)
	if err != nil {
		return fmt.Errorf("federation: --force-new-cluster: create snapshot: %w", err)
	}
	if err := snap.Persist(sink); err != nil {
		return fmt.Errorf("federation: --force-new-cluster: %w", err)
	}
	rec := recoveryRecord{Node: cfg.NodeID, Address: string(self.Address), Index: lastIndex, Term: lastTerm, At: time.Now().UTC(), Dropped: others}
	if err := writeRecord(recorded, rec); err != nil {
		return fmt.Errorf("federation: --force-new-cluster: %w", err)
	}
	// Drop the log: its configuration entries must not count, and the
	// snapshot holds all it held.
	if last > 0 {
		if err := store.DeleteRange(first, last); err != nil {
			return fmt.Errorf("federation: --force-new-cluster: drop the log: %w", err)
		}
	}
	log.Warn("--force-new-cluster: this node is now its office's only voter; remove the flag, and add nodes with empty data directories and --join. "+
		"Never start the dropped members on their old data directories",
		"raft_index", lastIndex, "raft_term", lastTerm, "entries_applied", applied, "entries_refused", refused,
		"dropped_members", strings.Join(others, ", "), "record", recorded)
	return nil
}

// latestConfiguration is the office's configuration as this node's disk
// holds it: the newest snapshot's, or a configuration entry of the log
// after it; with the newest snapshot's index and term.
func latestConfiguration(logs raft.LogStore, files *raft.FileSnapshotStore) (index, term uint64, c raft.Configuration, err error) {
	list, err := files.List()
	if err != nil {
		return 0, 0, c, fmt.Errorf("list snapshots: %w", err)
	}
	if len(list) > 0 {
		index, term, c = list[0].Index, list[0].Term, list[0].Configuration
	}
	first, err := logs.FirstIndex()
	if err != nil {
		return 0, 0, c, err
	}
	last, err := logs.LastIndex()
	if err != nil {
		return 0, 0, c, err
	}
	for i := max(first, index+1); first > 0 && i <= last; i++ {
		var l raft.Log
		if err := logs.GetLog(i, &l); err != nil {
			return 0, 0, c, fmt.Errorf("read raft entry %d: %w", i, err)
		}
		if l.Type == raft.LogConfiguration {
			c = raft.DecodeConfiguration(l.Data)
		}
	}
	c.Servers = slices.Clone(c.Servers)
	return index, term, c, nil
}

// writeRecord writes rec to path whole (a temporary file, synced, renamed).
func writeRecord(path string, rec recoveryRecord) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
