package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// Query codes: the citizen's only authority over a case. See "Query
// codes" in DESIGN.md for the arithmetic of their length and limits.

// errNoCase is the one answer to a number no office holds and to a wrong
// query code, wherever the question was asked and whichever office
// answered it: the answer does not tell which case numbers exist.
var errNoCase = reason.Err(reason.CaseNotFound, "no case with this number and query code")

// errCannotCheck: the case was filed under a query-code key this node's
// registry does not hold yet (its feed is behind). The offices above can
// check it.
var errCannotCheck = reason.Err(reason.QueryCodeUncheckable, "this office cannot check the query code yet: its registry is behind")

// checkQueryCode checks a citizen's query code for case number here,
// within the node's query-code limits (queryCodeLimits, counted against
// the number and the client address). filing is the case's filing, nil
// when no office holds the number as far as this node can tell (at the
// county): the attempt is counted all the same, so that a number that
// does not exist is answered exactly like a wrong code. It returns nil
// for the right code, errNoCase for a wrong one or an unknown number, a
// ResourceExhausted status when the limits hold the attempt back, and
// errCannotCheck when this node lacks the key the case was filed under.
func (s *caseService) checkQueryCode(ctx context.Context, number, code string, filing *yizhanv1.CaseFiling) error {
	done, err := s.n.queryCodes.reserve(number, clientAddr(ctx))
	if err != nil {
		return err
	}
	match, known := false, true
	if filing != nil {
		match, known = casework.QueryCodeMatches(filing, code, s.n.office.Registry())
	}
	switch {
	case !known:
		done(attemptNotMade)
		return errCannotCheck
	case !match:
		done(attemptFailed)
		return errNoCase
	}
	done(attemptSucceeded)
	return nil
}

// filingOf is the filing of a case this node holds as its query code now
// stands (casework.QueryCodeFiling: a reissued code replaces the old),
// nil if it holds none.
func (s *caseService) filingOf(number string) *yizhanv1.CaseFiling {
	return casework.QueryCodeFiling(s.n.office.Cases().Events(number))
}

// ensureQueryCodeKey makes the county's first query-code key when its
// registry holds the county office and no key: at the bootstrap of a new
// county, and at the first start of a county whose registry predates the
// keys. Only the leader proposes; a second proposal of key 1 (a leader
// change in between) is refused by the registry and changes nothing.
func (n *Node) ensureQueryCodeKey(ctx context.Context) error {
	reg := n.office.Registry()
	if _, _, ok := reg.NewestQueryCodeKey(); ok {
		return nil
	}
	if _, err := reg.Office(n.cfg.Office); err != nil {
		return nil // not caught up, or not bootstrapped yet
	}
	key := make([]byte, registry.QueryCodeKeyLen)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("node: query-code key: %w", err)
	}
	_, _, err := n.office.ProposeRegistry(ctx, &peerv1.RegistryCommand{AtUnixNano: n.now().UnixNano(), Actor: "node:" + n.cfg.Name,
		Op: &peerv1.RegistryCommand_PutQueryCodeKey{PutQueryCodeKey: &peerv1.PutQueryCodeKey{Key: &peerv1.QueryCodeKey{Id: 1, Key: key}}}})
	if err != nil && !errors.Is(err, registry.ErrAlreadyExists) {
		return err
	}
	if err == nil {
		n.log.Info("created the registry's query-code key")
	}
	return nil
}
