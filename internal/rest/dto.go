package rest

// Reseller is a reseller as GET /v1/Resellers/{resellerId} returns it. The
// proto/cloudcockpit/v1/reseller.proto messages document its fields and
// those below in full. A property the upstream may send as null or omit is
// a pointer, slice or map, nil then, to tell null or absent from "".
type Reseller struct {
	ID *string `json:"id"`
	// The company's name, country (ISO 3166-1 alpha-2), address, primary
	// contact, own identifier and tax id.
	CompanyName        *string            `json:"companyName"`
	Country            *string            `json:"country"`
	AddressLine1       *string            `json:"addressLine1"`
	AddressLine2       *string            `json:"addressLine2"`
	City               *string            `json:"city"`
	State              *string            `json:"state"`
	ZipCode            *string            `json:"zipCode"`
	FirstName          *string            `json:"firstName"`
	LastName           *string            `json:"lastName"`
	Email              *string            `json:"email"`
	Phone              *string            `json:"phone"`
	InternalIdentifier *string            `json:"internalIdentifier"`
	TaxID              *string            `json:"taxId"`
	ProviderResellers  []ProviderReseller `json:"providerResellers"`
	CustomDomain       *CustomDomain      `json:"customDomain"`
}

// ProviderReseller is the reseller's association with one provider instance.
type ProviderReseller struct {
	ProviderInstanceID *string          `json:"providerInstanceId"`
	PriceMargin        *PriceMargin     `json:"priceMargin"`
	OfferTypeMargins   OfferTypeMargins `json:"offerTypeMargins"`
	ProviderResellerID *string          `json:"providerResellerId"`
	// ResellerProviderData is a JSON document inside a string, kept verbatim.
	ResellerProviderData *string `json:"resellerProviderData"`
	// ProviderData is ResellerProviderData parsed when a JSON object (within DecodeReseller's budget), else nil.
	ProviderData *ProviderData `json:"-"`
	Status       *EnumName     `json:"status"`
}

// PriceMargin is a margin rule and its value.
type PriceMargin struct {
	MarginRule *EnumName `json:"marginRule"`
	Value      *float64  `json:"value"`
}

// EnumName is an upstream enumeration value, {"name": "..."}, in any casing.
type EnumName struct {
	Name *string `json:"name"`
}

// CustomDomain is a reseller's custom portal domain.
type CustomDomain struct {
	CustomDomain *string `json:"customDomain"`
	// Status is the domain's state (values undocumented).
	Status *EnumName `json:"status"`
}

// OfferTypeMargins maps an offer type name, in the upstream's casing, to the
// margin applied to that offer type. It decodes from the plain dictionary
// {"license": {...}} or the ASP.NET wrapper around it, {"Value": {...}}, as
// docs/upstream-client.md tells them apart; null decodes to a nil map.
type OfferTypeMargins map[string]PriceMargin
