package node

// markFirstStart marks the empty book of an office below the county whose
// node starts with --bootstrap on an empty data directory, without
// --rebuild: the office may be new, or may have run before and lost its
// data. It numbers no case until its leader has found out (federation,
// firststart.go), and does then what --rebuild does if it ran before.
// Before raft has a configuration, as markRebuilt.
func (n *Node) markFirstStart() error {
	if err := n.office.Cases().MarkFirstStart(n.now()); err != nil {
		return err
	}
	n.log.Info("started on an empty data directory without --rebuild: the office numbers no case until it has found out from the offices above and the node directory whether it ran before")
	return nil
}
