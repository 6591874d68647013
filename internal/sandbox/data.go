package sandbox

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Reseller ids. Each sample reseller answers GET /v1/Resellers/{resellerId} with 200 and
// the payload in data/<company>.json; docs/sandbox.md says what each one exercises.
const (
	// ContosoResellerID has every field set (about 1.5 KB): a Tier 2 provider reseller
	// on SpecProviderInstanceID and a Tier 1 one on PlainTextProviderInstanceID.
	ContosoResellerID = "11111111-1111-4111-8111-111111111111"
	// FabrikamResellerID is the sparse sample: explicit nulls and an empty
	// internalIdentifier.
	FabrikamResellerID = "22222222-2222-4222-8222-222222222222"
	// NorthwindResellerID is written with PascalCase property names and mixed-case enum
	// names, for tolerant decoding.
	NorthwindResellerID = "33333333-3333-4333-8333-333333333333"
	// AdatumResellerID has boundary margin values and an empty offerTypeMargins.
	AdatumResellerID = "44444444-4444-4444-8444-444444444444"
	// LitwareResellerID has non-ASCII text and null providerResellers.
	LitwareResellerID = "55555555-5555-4555-8555-555555555555"
	// UnknownResellerID is a well-formed id that no sample uses: it answers 404
	// "Reseller not found.".
	UnknownResellerID = "99999999-9999-4999-8999-999999999999"
)

// Provider instance and tenant ids of GET /v1/Customers/relationship-acceptance. Given a
// known resellerId, both provider instances answer an indirect reseller link for it
// (partnerId = the reseller's tenant, msppId = its MPN id, indirectCSPId = the provider's
// tenant); without one, they answer the provider's own CSP link.
const (
	// SpecProviderInstanceID is the spec's example provider instance: its link is a JSON
	// string (application/json; charset=utf-8) with & escaped as \u0026, as ASP.NET's
	// System.Text.Json writes it.
	SpecProviderInstanceID = "cb3cd15b-1d6e-45be-b493-c71549cbfd87"
	// PlainTextProviderInstanceID answers its link as the raw URL with Content-Type
	// text/plain; charset=utf-8, as ASP.NET sometimes answers a string.
	PlainTextProviderInstanceID = "8a6e0f3d-2b4c-4d1e-9f7a-5c3b1e0d2a94"
	// UnknownProviderInstanceID is a well-formed id that no sample uses: it answers 404
	// "Provider instance not found.".
	UnknownProviderInstanceID = "88888888-8888-4888-8888-888888888888"
	// SpecProviderTenantID is the Microsoft Entra tenant of SpecProviderInstanceID: the
	// partnerId of its CSP link and the indirectCSPId of its indirect reseller links.
	SpecProviderTenantID = "3f8e2a61-9c4d-4b7e-8a15-d2c6f0b9e347"
	// PlainTextProviderTenantID is the tenant of PlainTextProviderInstanceID.
	PlainTextProviderTenantID = "b7d41c09-6e2f-4a83-9b5d-1f0a8c3e6d72"
)

// SampleToken is a bearer token for examples: any non-empty bearer token is accepted;
// this one is used in the README examples.
const SampleToken = "sandbox-token"

// SampleTenant is an X-Tenant value for examples: any value that looks like a domain
// name is accepted; this one is the spec's example.
const SampleTenant = "portal.cloudcockpit.com"

//go:embed data/*.json
var dataFS embed.FS

// sample describes one sample reseller; the payload lives in data/, the rest is what
// acceptance links need and the payload does not hold.
type sample struct {
	id       string
	file     string
	tenantID string // the reseller's Microsoft Entra tenant, partnerId in indirect links
	mpnID    string // the reseller's primary MPN id, msppId in indirect links
}

var samples = []sample{
	{id: ContosoResellerID, file: "contoso.json", tenantID: "6d1f3b8a-0c42-4e97-b5a3-9e27c4d81f60", mpnID: "4794019"},
	{id: FabrikamResellerID, file: "fabrikam.json", tenantID: "a2c95e17-38d4-4f6b-9c01-74e8b3d2a5f9", mpnID: "3318204"},
	{id: NorthwindResellerID, file: "northwind.json", tenantID: "e84b2f6c-1a79-4d35-8e0b-5c3f9a7d1246", mpnID: "5512873"},
	{id: AdatumResellerID, file: "adatum.json", tenantID: "19f7c3a5-d28e-4b61-a4f0-8e5d2c7b39a1", mpnID: "6120045"},
	{id: LitwareResellerID, file: "litware.json", tenantID: "c05a8e3d-7f14-4b29-86d1-2e9b4a6c0f85", mpnID: "7043516"},
}

// providerInstance is one provider instance that answers acceptance links.
type providerInstance struct {
	id        string
	tenantID  string
	plainText bool // answer text/plain with the raw URL instead of a JSON string
}

var providerInstances = []providerInstance{
	{id: SpecProviderInstanceID, tenantID: SpecProviderTenantID},
	{id: PlainTextProviderInstanceID, tenantID: PlainTextProviderTenantID, plainText: true},
}

// Resellers returns the ids of the sample resellers, sorted. The caller owns the slice.
func Resellers() []string {
	return slices.Sorted(maps.Keys(loadCatalog()))
}

// catalog holds the samples with their payloads, compacted once, by lower-case
// reseller id.
type catalog map[string]loaded

// loaded is a sample with its payload.
type loaded struct {
	sample
	payload []byte
}

// Content types of the answers.
const (
	contentTypeJSON  = "application/json; charset=utf-8"
	contentTypePlain = "text/plain; charset=utf-8"
)

// loadCatalog is run once per process; the embedded data cannot change, so a failure is a
// programming error caught by the package's tests.
var loadCatalog = sync.OnceValue(func() catalog {
	c, err := buildCatalog()
	if err != nil {
		panic("sandbox: " + err.Error())
	}
	return c
})

func buildCatalog() (catalog, error) {
	c := catalog{}
	for _, s := range samples {
		raw, err := dataFS.ReadFile("data/" + s.file)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, fmt.Errorf("data/%s: %w", s.file, err)
		}
		if err := checkPayloadID(buf.Bytes(), s.id); err != nil {
			return nil, fmt.Errorf("data/%s: %w", s.file, err)
		}
		c[s.id] = loaded{s, buf.Bytes()}
	}
	return c, nil
}

// checkPayloadID makes sure a payload describes the reseller it is served for, whatever the
// casing of its "id" property (encoding/json matches names case-insensitively).
func checkPayloadID(payload []byte, want string) error {
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return err
	}
	if !strings.EqualFold(p.ID, want) {
		return fmt.Errorf("id is %q, want %s", p.ID, want)
	}
	return nil
}

// acceptanceLink is the Microsoft Partner Center invitation a provider instance answers:
// to a relationship with the provider itself (its CSP link) when s is nil, otherwise with
// the indirect reseller s. A non-empty fp is added as CredentialLinkParameter.
func acceptanceLink(p providerInstance, s *sample, fp string) string {
	q := "?invType=ResellerRelationship&partnerId=" + url.QueryEscape(p.tenantID) + "&msppId=0&DAP=true"
	if s != nil {
		q = "?invType=IndirectResellerRelationship&partnerId=" + url.QueryEscape(s.tenantID) +
			"&msppId=" + url.QueryEscape(s.mpnID) + "&indirectCSPId=" + url.QueryEscape(p.tenantID) + "&DAP=true"
	}
	if fp != "" {
		q += "&" + CredentialLinkParameter + "=" + fp
	}
	return "https://admin.microsoft.com/Adminportal/Home" + q + "#/BillingAccounts/partner-invitation"
}
