package registry

import (
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
)

// Redaction. The registry feed sends every office the whole registry but
// only the password hashes it may use: those of staff members of the
// office itself and of the offices below it. A village never holds the
// hash of a county clerk, so a stolen village node leaks only that
// village's accounts.

// CanSignIn reports whether a node of signerOffice may sign in a staff
// member of staffOffice: signerOffice is staffOffice or an office above it.
func CanSignIn(signerOffice, staffOffice string) bool {
	return IsAncestorOrSelf(signerOffice, staffOffice)
}

// RedactEntry returns a clone of e for the feed to subscriberOffice: a
// CreateStaff credential keeps its username but loses its hash unless
// CanSignIn(subscriberOffice, staff.office_code).
func RedactEntry(e *peerv1.ChangelogEntry, subscriberOffice string) *peerv1.ChangelogEntry {
	out := proto.CloneOf(e)
	redactCommand(out.GetCommand(), subscriberOffice)
	return out
}

// redactCommand clears cmd's credential hash in place if the subscriber may
// not have it.
func redactCommand(cmd *peerv1.RegistryCommand, subscriberOffice string) {
	staff, cred := cmd.GetCreateStaff().GetStaff(), cmd.GetCreateStaff().GetCredential()
	if u := cmd.GetUpdateStaff(); u != nil {
		staff, cred = u.GetStaff(), u.GetCredential() // the node names the office it keeps
	}
	if cmd.GetCreateStaff() != nil || cmd.GetUpdateStaff() != nil {
		// The request's hash serves only the county's exactly-once writes;
		// an account's command goes down without it whatever was hashed.
		cmd.RequestHash = nil
	}
	if cred == nil || (staff.GetOfficeCode() != "" && CanSignIn(subscriberOffice, staff.GetOfficeCode())) {
		return
	}
	cred.PasswordHash = ""
}

// RedactSnapshot returns a clone of s for subscriberOffice: it drops the
// credentials of staff the subscriber may not sign in (and of unknown
// staff), and redacts the changelog entries as RedactEntry does.
func RedactSnapshot(s *peerv1.RegistrySnapshot, subscriberOffice string) *peerv1.RegistrySnapshot {
	out := proto.CloneOf(s)
	if out == nil {
		return nil
	}
	officeOf := make(map[string]string, len(out.GetStaff()))
	for _, m := range out.GetStaff() {
		officeOf[m.GetUsername()] = m.GetOfficeCode()
	}
	kept := out.Credentials[:0]
	for _, c := range out.GetCredentials() {
		if office, ok := officeOf[c.GetUsername()]; ok && CanSignIn(subscriberOffice, office) {
			kept = append(kept, c)
		}
	}
	clear(out.Credentials[len(kept):])
	out.Credentials = kept
	for _, e := range out.GetChangelog() {
		redactCommand(e.GetCommand(), subscriberOffice)
	}
	return out
}
