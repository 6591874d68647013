package sandbox

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Reseller ids: each sample answers GET /v1/Resellers/{resellerId} with 200 and the
// payload in data/<company>.json; docs/sandbox.md says what each one exercises.
const (
	ContosoResellerID   = "11111111-1111-4111-8111-111111111111" // every field set (about 1.5 KB)
	FabrikamResellerID  = "22222222-2222-4222-8222-222222222222" // explicit nulls, an empty internalIdentifier
	NorthwindResellerID = "33333333-3333-4333-8333-333333333333" // PascalCase property names, mixed-case enum names
	AdatumResellerID    = "44444444-4444-4444-8444-444444444444" // boundary margin values, an empty offerTypeMargins
	LitwareResellerID   = "55555555-5555-4555-8555-555555555555" // non-ASCII text, null providerResellers
	UnknownResellerID   = "99999999-9999-4999-8999-999999999999" // well-formed, no sample's: 404 "Reseller not found."
)

// Provider instances and their Microsoft Entra tenants, for GET
// /v1/Customers/relationship-acceptance (docs/sandbox.md says what each answers).
const (
	SpecProviderInstanceID      = "cb3cd15b-1d6e-45be-b493-c71549cbfd87" // the spec's example: its link is a JSON string
	PlainTextProviderInstanceID = "8a6e0f3d-2b4c-4d1e-9f7a-5c3b1e0d2a94" // answers its link as text/plain
	UnknownProviderInstanceID   = "88888888-8888-4888-8888-888888888888" // well-formed, no instance's: 404
	SpecProviderTenantID        = "3f8e2a61-9c4d-4b7e-8a15-d2c6f0b9e347" // SpecProviderInstanceID's
	PlainTextProviderTenantID   = "b7d41c09-6e2f-4a83-9b5d-1f0a8c3e6d72" // PlainTextProviderInstanceID's
)

// SampleToken is the bearer token of the examples; any non-empty one is accepted.
const SampleToken = "sandbox-token"

// SampleTenant is the X-Tenant of the examples (the spec's); any domain name is accepted.
const SampleTenant = "portal.cloudcockpit.com"

//go:embed data/*.json
var dataFS embed.FS

// sample is one sample reseller: its payload, and what acceptance links need that the
// payload does not hold.
type sample struct {
	id       string
	file     string // in data/
	tenantID string // the reseller's Microsoft Entra tenant, partnerId in indirect links
	mpnID    string // the reseller's primary MPN id, msppId in indirect links
	payload  []byte // the file, compacted; set by loadCatalog
}

var samples = []sample{
	{id: ContosoResellerID, file: "contoso.json", tenantID: "6d1f3b8a-0c42-4e97-b5a3-9e27c4d81f60", mpnID: "4794019"},
	{id: FabrikamResellerID, file: "fabrikam.json", tenantID: "a2c95e17-38d4-4f6b-9c01-74e8b3d2a5f9", mpnID: "3318204"},
	{id: NorthwindResellerID, file: "northwind.json", tenantID: "e84b2f6c-1a79-4d35-8e0b-5c3f9a7d1246", mpnID: "5512873"},
	{id: AdatumResellerID, file: "adatum.json", tenantID: "19f7c3a5-d28e-4b61-a4f0-8e5d2c7b39a1", mpnID: "6120045"},
	{id: LitwareResellerID, file: "litware.json", tenantID: "c05a8e3d-7f14-4b29-86d1-2e9b4a6c0f85", mpnID: "7043516"},
}

// providerTenants holds the tenant of each known provider instance, by lower-case id.
var providerTenants = map[string]string{
	SpecProviderInstanceID:      SpecProviderTenantID,
	PlainTextProviderInstanceID: PlainTextProviderTenantID,
}

// Resellers returns the ids of the sample resellers, sorted. The caller owns the slice.
func Resellers() []string { return slices.Sorted(maps.Keys(loadCatalog())) }

// loadCatalog reads and compacts the payloads once per process, and returns the samples
// by lower-case reseller id. A failure is a defect the package's tests catch.
var loadCatalog = sync.OnceValue(func() map[string]sample {
	c := map[string]sample{}
	for _, s := range samples {
		var buf bytes.Buffer
		raw, err := dataFS.ReadFile("data/" + s.file)
		if err == nil {
			err = json.Compact(&buf, raw)
		}
		if err != nil {
			panic("sandbox: data/" + s.file + ": " + err.Error())
		}
		s.payload = buf.Bytes()
		c[s.id] = s
	}
	return c
})

// acceptanceLink is the Microsoft Partner Center invitation a provider instance of the
// tenant provider answers: its own CSP link when s is the zero sample, otherwise the
// indirect reseller link of s. A non-empty fp is added as CredentialLinkParameter.
func acceptanceLink(provider string, s sample, fp string) string {
	q := "?invType=ResellerRelationship&partnerId=" + url.QueryEscape(provider) + "&msppId=0&DAP=true"
	if s.id != "" {
		q = "?invType=IndirectResellerRelationship&partnerId=" + url.QueryEscape(s.tenantID) +
			"&msppId=" + url.QueryEscape(s.mpnID) + "&indirectCSPId=" + url.QueryEscape(provider) + "&DAP=true"
	}
	if fp != "" {
		q += "&" + CredentialLinkParameter + "=" + fp
	}
	return "https://admin.microsoft.com/Adminportal/Home" + q + "#/BillingAccounts/partner-invitation"
}

// WithCredentialEcho makes every 200 answer carry [CredentialFingerprint] of the
// request's credentials (docs/sandbox.md; by default none), so that a test can prove that
// a facade never shares one upstream request between different credentials.
func WithCredentialEcho() Option { return func(s *Server) { s.echo = true } }

// CredentialLinkParameter is the query parameter that [WithCredentialEcho] adds to
// acceptance links.
const CredentialLinkParameter = "sandboxCredential"

// CredentialFingerprint returns what [WithCredentialEcho] puts into an answer for these
// Authorization and X-Tenant values: "cred:" and 16 hexadecimal digits of their SHA-256.
func CredentialFingerprint(authorization, tenant string) string {
	sum := sha256.Sum256([]byte(authorization + "\n" + tenant))
	return "cred:" + hex.EncodeToString(sum[:8])
}

// echoPayload returns payload with its internalIdentifier (in the sample's casing, added
// when absent) set to fp and its properties sorted by name, or payload itself when fp is
// empty.
func echoPayload(payload []byte, fp string) []byte {
	var m map[string]json.RawMessage
	if fp == "" {
		return payload
	}
	if err := json.Unmarshal(payload, &m); err != nil {
		panic(err) // the samples are JSON objects, as the tests check
	}
	key := "internalIdentifier"
	for k := range m {
		if strings.EqualFold(k, key) {
			key = k
		}
	}
	m[key], _ = json.Marshal(fp)
	body, _ := json.Marshal(m) // raw messages from a valid document: cannot fail
	return body
}
