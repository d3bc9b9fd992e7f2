package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// refusingOfficeRegistry refuses an office's phone as the registry does a line
// too long or with a character a line may not hold (registry/limits.go:
// office.phone), and a new office's code outside the county.
type refusingOfficeRegistry struct{ *fakeRegistry }

func (z refusingOfficeRegistry) UpdateOffice(_ context.Context, req *yizhanv1.UpdateOfficeRequest) (*yizhanv1.CreateOfficeResponse, error) {
	return nil, fieldAnswer("office.phone", "is too long", "TOO_LONG", "电话过长：最多 32 个字符")
}

// The county admin corrects a village point's phone on 机构与部门 and the
// registry refuses it. The page must say which field: the message next
// to that office's 电话 input, and the summary's link taking the admin
// to it. Today the edit form's 电话 (and 地址) carry no error at all, and
// the summary links to #f-phone, an id no element of the page has (the
// inputs are f-office-<code>-phone); a new office's refused code links to
// #f-code, while its input is f-new-office-code.
func TestARefusedOfficeEditNamesItsField(t *testing.T) {
	f := newFixture(t, func(cfg *Config) { cfg.Registry = refusingOfficeRegistry{cfg.Registry.(*fakeRegistry)} })
	_, page := f.do(t, "GET", "/admin/offices", nil, session(adminToken))
	token := csrfOf(t, page)

	t.Run("edit", func(t *testing.T) {
		form := url.Values{"csrf": {token}, "name": {"东村便民服务站"}, "address": {"东村村委会"}, "phone": {"0771-6201203 转 8 或 13800000000（村主任）"}}
		resp, page := f.do(t, "POST", "/admin/offices/office/"+village, form, session(adminToken))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "电话过长") {
			t.Fatalf("status %d (the test's setup is wrong):\n%s", resp.StatusCode, page)
		}
		if !strings.Contains(page, `id="e-office-`+village+`-phone"`) {
			t.Errorf("the refusal is not shown next to the office's 电话 input (no e-office-%s-phone):\n%s", village, errsumLinkRE.FindString(page))
		}
		if bad := brokenSummaryLinks(page); len(bad) > 0 {
			t.Errorf("the error summary links to %q, which no element of the page has", bad)
		}
	})
	t.Run("new office", func(t *testing.T) {
		form := url.Values{"csrf": {token}, "code": {"999999101205"}, "name": {"南坡村便民服务站"}}
		resp, page := f.do(t, "POST", "/admin/offices/office", form, session(adminToken))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "区划代码不在本县之下") {
			t.Fatalf("status %d (the test's setup is wrong):\n%s", resp.StatusCode, page)
		}
		if bad := brokenSummaryLinks(page); len(bad) > 0 {
			t.Errorf("the error summary links to %q, which no element of the page has", bad)
		}
	})
}
