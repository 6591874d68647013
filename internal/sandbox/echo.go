package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// WithCredentialEcho makes every 200 answer carry a fingerprint of the credentials it
// was asked with ([CredentialFingerprint] of its Authorization and X-Tenant), so that a
// test can prove that each caller got an answer made for its own credentials, for
// example that a facade sharing one upstream request between identical calls never
// shares it between different credentials. The token itself is never echoed.
//
// A reseller's internalIdentifier (whatever the casing of its property name; added when
// the sample has none) becomes the fingerprint; an acceptance link gets the query
// parameter sandboxCredential=<fingerprint> before its fragment. Every other byte of
// the sample data is the same as without the option, except that the JSON of the
// reseller payloads is re-serialised (its top-level properties sorted by name). By
// default answers carry no fingerprint.
func WithCredentialEcho() Option {
	return func(s *Server) {
		s.echo = true
	}
}

// CredentialLinkParameter is the query parameter that [WithCredentialEcho] adds to
// acceptance links.
const CredentialLinkParameter = "sandboxCredential"

// CredentialFingerprint returns what [WithCredentialEcho] puts into an answer for a
// request with these Authorization and X-Tenant header values (as sent, the first value
// of each): "cred:" followed by the first 16 hexadecimal digits of SHA-256(authorization
// + "\n" + tenant). It reveals nothing usable of the token.
func CredentialFingerprint(authorization, tenant string) string {
	sum := sha256.Sum256([]byte(authorization + "\n" + tenant))
	return "cred:" + hex.EncodeToString(sum[:8])
}

// echoPayload returns payload with its internalIdentifier set to fp.
func echoPayload(payload []byte, fp string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, err
	}
	key := "internalIdentifier"
	for k := range m {
		if strings.EqualFold(k, key) {
			key = k // keep the sample's casing
		}
	}
	m[key], _ = json.Marshal(fp)
	return json.Marshal(m)
}
