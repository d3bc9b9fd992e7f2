package node

import (
	"fmt"
	"os"
	"path/filepath"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/registry"
)

// Restore makes the data directory dataDir of node name from the backup
// at path (`yizhan restore`; docs/OPERATIONS.md): the database sized for
// the office's tier as a node opens it, the case book and the registry as
// they were at the backup, raft's snapshot with the office's members
// (members, when given, replace the backup's). dataDir must be new or
// empty of state. Started on it, the node serves the office as it was at
// the backup and its leader takes back from the neighbouring offices what
// changed since. What it writes belongs to dataDir's owner (giveToOwner:
// a restore run as root into the node user's volume).
func Restore(path, dataDir, name string, members []raftgroup.BackupMember) (raftgroup.BackupInfo, error) {
	info, err := raftgroup.ReadBackupInfo(path)
	if err != nil {
		return info, err
	}
	opts := raftgroup.RestoreOptions{Members: members, Node: name}
	if err := raftgroup.CheckRestore(info, opts); err != nil {
		return info, err
	}
	// What restore writes; removed again when it fails, so that the
	// directory is as it was and the restore can be run again.
	made := []string{filepath.Join(dataDir, "badger"), filepath.Join(dataDir, "snapshots"), filepath.Join(dataDir, "raft-wal")}
	for _, p := range made {
		if _, err := os.Stat(p); err == nil {
			return info, fmt.Errorf("%s already holds %s: restore into a new data directory (move the old one aside)", dataDir, filepath.Base(p))
		}
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return info, err
	}
	tier, err := registry.TierOf(info.Office)
	if err != nil {
		return info, err
	}
	db, err := badgerstore.OpenDB(filepath.Join(dataDir, "badger"), badgerstore.DBOptions{
		Small: tier != yizhanv1.Tier_TIER_COUNTY, County: tier == yizhanv1.Tier_TIER_COUNTY})
	if err != nil {
		return info, err
	}
	info, err = raftgroup.RestoreBackup(path, dataDir, db, opts)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = giveToOwner(dataDir, made)
	}
	if err != nil {
		for _, p := range made {
			os.RemoveAll(p)
		}
	}
	return info, err
}
