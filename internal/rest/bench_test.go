package rest

import (
	"encoding/json"
	"testing"
)

func BenchmarkDecodeReseller(b *testing.B) {
	body := readTestdata(b, "reseller_full.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeReseller(body); err != nil {
			b.Fatal(err)
		}
	}
}

// plainReseller mirrors Reseller with offerTypeMargins as a plain map, so
// BenchmarkDecodeResellerPlainJSON measures encoding/json alone, without the
// ASP.NET wrapper handling.
type plainReseller struct {
	ID                 *string `json:"id"`
	CompanyName        *string `json:"companyName"`
	Country            *string `json:"country"`
	AddressLine1       *string `json:"addressLine1"`
	AddressLine2       *string `json:"addressLine2"`
	City               *string `json:"city"`
	State              *string `json:"state"`
	ZipCode            *string `json:"zipCode"`
	FirstName          *string `json:"firstName"`
	LastName           *string `json:"lastName"`
	Email              *string `json:"email"`
	Phone              *string `json:"phone"`
	InternalIdentifier *string `json:"internalIdentifier"`
	TaxID              *string `json:"taxId"`
	ProviderResellers  []struct {
		ProviderInstanceID   *string                `json:"providerInstanceId"`
		PriceMargin          *PriceMargin           `json:"priceMargin"`
		OfferTypeMargins     map[string]PriceMargin `json:"offerTypeMargins"`
		ProviderResellerID   *string                `json:"providerResellerId"`
		ResellerProviderData *string                `json:"resellerProviderData"`
		Status               *EnumName              `json:"status"`
	} `json:"providerResellers"`
	CustomDomain *CustomDomain `json:"customDomain"`
}

func BenchmarkDecodeResellerPlainJSON(b *testing.B) {
	body := readTestdata(b, "reseller_full.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r plainReseller
		if err := json.Unmarshal(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}
