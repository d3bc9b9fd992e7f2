package node

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// Page tokens are bound to the query they page through, as Google's
// AIP-158 has it: a listing's own position (the case book's token of a
// case or a record, an offset, an index, a grant's id) goes out behind
// the first bytes of a hash of the listing's name and filters, and is
// taken back only with the same filters; page_size may change. A token
// given with other filters (another office, state, item, date range...)
// is refused, page_token "belongs to another query", where it was taken
// as a position in the other listing, whose pages then skipped or
// repeated records. The filters are those the listing runs with, once
// defaulted: an office left out is the caller's, the same query as that
// office named.

// pageTagLen is the bytes of the hash a page token begins with.
const pageTagLen = 4

// pageQuery is a listing's query as its page tokens carry it.
type pageQuery [pageTagLen]byte

// queryOf is the query of listing (its method's name) with filters:
// strings, bools, enums and times (the zero time: no bound).
func queryOf(listing string, filters ...any) pageQuery {
	h := sha256.New()
	put := func(s string) {
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	put(listing)
	for _, f := range filters {
		switch v := f.(type) {
		case string:
			put(v)
		case bool:
			put(strconv.FormatBool(v))
		case protoreflect.Enum:
			put(strconv.Itoa(int(v.Number())))
		case time.Time:
			if v.IsZero() {
				put("")
			} else {
				put(strconv.FormatInt(v.UnixNano(), 10))
			}
		default:
			put(fmt.Sprintf("%T %v", v, v))
		}
	}
	var q pageQuery
	copy(q[:], h.Sum(nil))
	return q
}

// token is the page token of the page after pos, the listing's own
// position: "" when there is none (the last page).
func (q pageQuery) token(pos string) string {
	if pos == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(append(q[:], pos...))
}

// position is the listing's own position page token t names: "" for the
// first page (no token). A token of no listing is errBadPageToken; one of
// another query (other filters, another listing) errOtherQueryPageToken.
func (q pageQuery) position(t string) (string, error) {
	if t == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || len(b) <= pageTagLen {
		return "", errBadPageToken()
	}
	if !bytes.Equal(b[:pageTagLen], q[:]) {
		return "", errOtherQueryPageToken()
	}
	return string(b[pageTagLen:]), nil
}

// errBadPageToken refuses a page_token no listing of this API gave out.
func errBadPageToken() error {
	return pageTokenError("is not a page token this listing gave out")
}

// errOtherQueryPageToken refuses a page_token given out by another query:
// other filters, or another listing.
func errOtherQueryPageToken() error {
	return pageTokenError("belongs to another query: page on with the filters of the first page (page_size may change), or ask for the first page")
}

// pageTokenError is the refusal of a page_token, INVALID_FORMAT with the
// format PAGE_TOKEN, whose zh-CN text says to start from the first page.
func pageTokenError(desc string) error {
	return fieldError("page_token", registry.ReasonInvalidFormat, reason.Meta{"format": "PAGE_TOKEN"}, desc)
}

// listError is the answer of a listing of the case book that failed: a
// position it did not give out is errBadPageToken.
func listError(err error) error {
	if errors.Is(err, casebook.ErrBadPageToken) {
		return errBadPageToken()
	}
	return toStatus(err)
}
