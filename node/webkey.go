package node

import (
	"crypto/hkdf"
	"crypto/sha256"
	"sync/atomic"

	"github.com/yizhan-gov/yizhan/registry"
)

// webCSRFKeyLabel separates the web UI's CSRF key from every other use of
// the query-code key.
const webCSRFKeyLabel = "yizhan web csrf v1 "

// officeCSRFKey returns the web UI's CSRF key of office (web.Config.CSRFKey):
// the same at every node of the office, so that a form one node served is
// accepted by the node it is posted to (the chart's client Service has no
// session affinity). It is derived with HKDF-SHA256 from the registry's
// newest query-code key, a secret every node holds through the feed and
// no API serves, and from the office's code, so each office has its own.
// ok is false while the registry holds no query-code key (a new office
// before its first feed). A new query-code key makes a new CSRF key: forms
// open at that moment are refused once, and the page says to reload.
func officeCSRFKey(reg *registry.Registry, office string) func() ([]byte, bool) {
	type derived struct {
		id  uint32
		key []byte
	}
	var last atomic.Pointer[derived]
	return func() ([]byte, bool) {
		id, secret, ok := reg.NewestQueryCodeKey()
		if !ok {
			return nil, false
		}
		if d := last.Load(); d != nil && d.id == id {
			return d.key, true
		}
		key, err := hkdf.Key(sha256.New, secret, nil, webCSRFKeyLabel+office, 32)
		if err != nil {
			return nil, false
		}
		last.Store(&derived{id: id, key: key})
		return key, true
	}
}
