package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// A filing's receipt and the page after a rating or complaint are kept in
// the memory of the node that made them (browserStore). The nodes of one
// office sit behind one address without session affinity, so the next
// request may reach another node: the page's id therefore also carries a
// sealed reference — the case number and query code, for the browser that
// made it (its CSRF token), until it expires — that any node of the office
// can open (AES-GCM under a key derived from the office's CSRF key) and
// rebuild the page from, through the API. The query code never appears in
// clear in the URL.

// pageRef is what a sealed page id holds.
type pageRef struct {
	Number  string `json:"n"`
	Code    string `json:"c"`
	Seq     uint32 `json:"s,omitempty"`
	Owner   string `json:"o"` // the browser's CSRF token when the page was made
	Expires int64  `json:"e"` // unix seconds
}

// sealLabel separates the key of sealed pages from the CSRF tokens'.
const sealLabel = "yizhan web sealed pages v1"

// sealKey is the office's key for sealed pages; ok is false when the node
// has no office key (one node, tests): pages then live in memory only.
func (s *server) sealKey() ([]byte, bool) {
	if s.cfg.CSRFKey == nil {
		return nil, false
	}
	k, ok := s.cfg.CSRFKey()
	if !ok {
		return nil, false
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(sealLabel))
	return m.Sum(nil), true
}

// pageID is the id of a page kept in memory under memID, with the sealed
// ref appended when the office has a key.
func (s *server) pageID(memID string, ref pageRef) string {
	key, ok := s.sealKey()
	if !ok {
		return memID
	}
	sealed, err := seal(key, ref)
	if err != nil {
		return memID
	}
	return memID + "." + sealed
}

// openPageID splits a page id into its memory id and, when it carries one
// this office sealed for this browser and it has not expired, its ref.
func (s *server) openPageID(id, owner string, now time.Time) (memID string, ref *pageRef) {
	memID, sealed, found := strings.Cut(id, ".")
	if !found {
		return memID, nil
	}
	key, ok := s.sealKey()
	if !ok {
		return memID, nil
	}
	var r pageRef
	if err := unseal(key, sealed, &r); err != nil {
		return memID, nil
	}
	if !hmac.Equal([]byte(r.Owner), []byte(owner)) || now.Unix() > r.Expires {
		return memID, nil
	}
	return memID, &r
}

func seal(key []byte, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	rand.Read(nonce) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(gcm.Seal(nonce, nonce, plain, nil)), nil
}

func unseal(key []byte, sealed string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		return err
	}
	gcm, err := newGCM(key)
	if err != nil {
		return err
	}
	if len(raw) < gcm.NonceSize() {
		return errors.New("web: sealed page id too short")
	}
	plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(plain, v)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
