package sandbox

import (
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

// isDomain reports whether s looks like a DNS name with at least two labels, such as
// portal.cloudcockpit.com: letters, digits and inner hyphens, labels of 1 to 63
// characters, 253 characters at most, an optional trailing dot.
func isDomain(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if len(s) == 0 || len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := range len(label) {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// isUUID reports whether s is a UUID in its canonical 8-4-4-4-12 hexadecimal form, in
// either case (the form the upstream documents and the facade sends).
func isUUID(s string) bool {
	return len(s) == 36 && uuid.Validate(s) == nil
}
