package sandbox

import (
	"regexp"
	"strings"

	"github.com/google/uuid"
)

// authorized reports whether an Authorization header value is "Bearer <token>" with a
// non-empty token; the scheme is case-insensitive (RFC 9110) and the token is not checked.
func authorized(header string) bool {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	token = strings.TrimLeft(token, " ")
	return token != "" && !strings.ContainsAny(token, " \t")
}

// domainName matches a DNS name with at least two labels of letters, digits and inner
// hyphens, 1 to 63 characters each.
var domainName = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// isDomain reports whether s looks like a DNS name such as portal.cloudcockpit.com
// (see domainName): 253 characters at most, an optional trailing dot.
func isDomain(s string) bool {
	s = strings.TrimSuffix(s, ".")
	return len(s) <= 253 && domainName.MatchString(s)
}

// isUUID reports whether s is a UUID in its canonical 8-4-4-4-12 hexadecimal form, in
// either case (the form the upstream documents and the facade sends).
func isUUID(s string) bool {
	return len(s) == 36 && uuid.Validate(s) == nil
}
