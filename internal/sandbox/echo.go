package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
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
	return credPrefix + hex.EncodeToString(sum[:credHexDigits/2])
}

const (
	credPrefix    = "cred:"
	credHexDigits = 16
)

// credPlaceholder stands for the fingerprint in the answers of the echo catalog; it has
// the fingerprint's length, so that patching it keeps Content-Length right, and cannot
// occur in the sample data.
var credPlaceholder = credPrefix + strings.Repeat("?", credHexDigits)

// withCredential returns resp with its fingerprint placeholder replaced by fp, in a new
// body; resp itself when fp is empty or resp has no placeholder.
func (resp response) withCredential(fp string) response {
	if fp == "" || resp.credAt <= 0 || len(fp) != len(credPlaceholder) {
		return resp
	}
	body := slices.Clone(resp.body)
	copy(body[resp.credAt:], fp)
	resp.body = body
	return resp
}

// loadEchoCatalog is the catalog of a server built with WithCredentialEcho: the sample
// answers with a placeholder for the fingerprint, built once per process from the
// default catalog.
var loadEchoCatalog = sync.OnceValue(func() *catalog {
	c, err := buildEchoCatalog(loadCatalog())
	if err != nil {
		panic("sandbox: " + err.Error())
	}
	return c
})

func buildEchoCatalog(base *catalog) (*catalog, error) {
	c := &catalog{
		resellers: make(map[string]response, len(base.resellers)),
		links:     make(map[string]linkSet, len(base.links)),
	}
	for id, resp := range base.resellers {
		r, err := echoReseller(resp)
		if err != nil {
			return nil, fmt.Errorf("reseller %s: %w", id, err)
		}
		c.resellers[id] = r
	}
	for id, set := range base.links {
		csp, err := echoLink(set.csp)
		if err != nil {
			return nil, fmt.Errorf("provider instance %s: %w", id, err)
		}
		echoed := linkSet{csp: csp, indirect: make(map[string]response, len(set.indirect))}
		for rid, resp := range set.indirect {
			if echoed.indirect[rid], err = echoLink(resp); err != nil {
				return nil, fmt.Errorf("provider instance %s, reseller %s: %w", id, rid, err)
			}
		}
		c.links[id] = echoed
	}
	return c, nil
}

// echoReseller turns a reseller answer into one whose internalIdentifier is the
// placeholder.
func echoReseller(resp response) (response, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(resp.body, &m); err != nil {
		return response{}, err
	}
	key := "internalIdentifier"
	for k := range m {
		if strings.EqualFold(k, key) {
			key = k // keep the sample's casing
		}
	}
	m[key] = json.RawMessage(`"` + credPlaceholder + `"`)
	body, err := json.Marshal(m)
	if err != nil {
		return response{}, err
	}
	return withPlaceholder(resp.contentType, body)
}

// echoLink turns an acceptance link answer (a JSON string or text/plain) into one whose
// link has the placeholder in its sandboxCredential parameter.
func echoLink(resp response) (response, error) {
	link := string(resp.body)
	plain := slices.Equal(resp.contentType, contentTypePlain)
	if !plain {
		if err := json.Unmarshal(resp.body, &link); err != nil {
			return response{}, err
		}
	}
	param := CredentialLinkParameter + "=" + credPlaceholder
	fragment := ""
	if i := strings.IndexByte(link, '#'); i >= 0 {
		link, fragment = link[:i], link[i:]
	}
	sep := "?"
	if strings.Contains(link, "?") {
		sep = "&"
	}
	link += sep + param + fragment
	if plain {
		return withPlaceholder(resp.contentType, []byte(link))
	}
	body, err := json.Marshal(link)
	if err != nil {
		return response{}, err
	}
	return withPlaceholder(resp.contentType, body)
}

// withPlaceholder builds a response for body, which must hold the placeholder once.
func withPlaceholder(contentType []string, body []byte) (response, error) {
	at := bytes.Index(body, []byte(credPlaceholder))
	if at <= 0 || bytes.Count(body, []byte(credPlaceholder)) != 1 {
		return response{}, fmt.Errorf("credential placeholder not found once in %q", body)
	}
	resp := newResponse(contentType, body)
	resp.credAt = at
	return resp, nil
}
