package sandbox

import (
	"encoding/json"
	"net/url"
)

// partnerInvitationBase is where Microsoft Partner Center's relationship invitations point.
const partnerInvitationBase = "https://admin.microsoft.com/Adminportal/Home"

// partnerInvitationFragment is the admin center page that shows the invitation.
const partnerInvitationFragment = "#/BillingAccounts/partner-invitation"

// cspLink is the invitation to a relationship between a customer and the provider itself.
func cspLink(providerTenantID string) string {
	return partnerInvitationBase +
		"?invType=ResellerRelationship" +
		"&partnerId=" + url.QueryEscape(providerTenantID) +
		"&msppId=0&DAP=true" + partnerInvitationFragment
}

// indirectLink is the invitation to a relationship between a customer and an indirect
// reseller of the provider.
func indirectLink(resellerTenantID, resellerMPNID, providerTenantID string) string {
	return partnerInvitationBase +
		"?invType=IndirectResellerRelationship" +
		"&partnerId=" + url.QueryEscape(resellerTenantID) +
		"&msppId=" + url.QueryEscape(resellerMPNID) +
		"&indirectCSPId=" + url.QueryEscape(providerTenantID) +
		"&DAP=true" + partnerInvitationFragment
}

// linkResponse serialises a link the way the provider instance answers it: a JSON string
// (with & escaped as \u0026, as System.Text.Json does by default) or the raw URL.
func linkResponse(p providerInstance, link string) response {
	if p.plainText {
		return newResponse(contentTypePlain, []byte(link))
	}
	body, err := json.Marshal(link)
	if err != nil { // a string always marshals
		panic(err)
	}
	return newResponse(contentTypeJSON, body)
}
