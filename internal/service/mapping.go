package service

import (
	"slices"
	"strings"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

// resellerToProto maps the upstream reseller to protobuf. Nullable strings
// keep their presence; unknown enum names become UNSPECIFIED and are
// reported to unknown (which may be nil).
func resellerToProto(r *rest.Reseller, unknown func(field, name string)) *pb.Reseller {
	if r == nil {
		return &pb.Reseller{}
	}
	out := &pb.Reseller{
		Id:                 deref(r.ID),
		CompanyName:        clonePtr(r.CompanyName),
		Country:            clonePtr(r.Country),
		AddressLine1:       clonePtr(r.AddressLine1),
		AddressLine2:       clonePtr(r.AddressLine2),
		City:               clonePtr(r.City),
		State:              clonePtr(r.State),
		ZipCode:            clonePtr(r.ZipCode),
		FirstName:          clonePtr(r.FirstName),
		LastName:           clonePtr(r.LastName),
		Email:              clonePtr(r.Email),
		Phone:              clonePtr(r.Phone),
		InternalIdentifier: clonePtr(r.InternalIdentifier),
		TaxId:              clonePtr(r.TaxID),
	}
	if len(r.ProviderResellers) > 0 {
		out.ProviderResellers = make([]*pb.ProviderReseller, len(r.ProviderResellers))
		for i := range r.ProviderResellers {
			out.ProviderResellers[i] = providerResellerToProto(&r.ProviderResellers[i], unknown)
		}
	}
	if d := r.CustomDomain; d != nil {
		out.CustomDomain = &pb.CustomDomain{CustomDomain: clonePtr(d.CustomDomain)}
		if d.Status != nil {
			out.CustomDomain.Status = clonePtr(d.Status.Name)
		}
	}
	return out
}

// providerResellerToProto maps one provider reseller, with the Tier 2 data
// parsed out of its resellerProviderData string when it holds a JSON object.
func providerResellerToProto(p *rest.ProviderReseller, unknown func(field, name string)) *pb.ProviderReseller {
	out := &pb.ProviderReseller{
		ProviderInstanceId:   deref(p.ProviderInstanceID),
		PriceMargin:          priceMarginToProto(p.PriceMargin, unknown),
		ProviderResellerId:   clonePtr(p.ProviderResellerID),
		ResellerProviderData: clonePtr(p.ResellerProviderData),
		Status:               statusToProto(p.Status, unknown),
	}
	if len(p.OfferTypeMargins) > 0 {
		out.OfferTypeMargins = make(map[string]*pb.PriceMargin, len(p.OfferTypeMargins))
		for k, m := range p.OfferTypeMargins {
			out.OfferTypeMargins[k] = priceMarginToProto(&m, unknown)
		}
	}
	if d := p.ProviderData; d != nil {
		out.ProviderData = &pb.ProviderData{IndirectResellerId: clonePtr(d.IndirectResellerID), SecondaryMpnIds: slices.Clone(d.SecondaryMpnIDs)}
	}
	return out
}

// priceMarginToProto maps a price margin; nil stays nil.
func priceMarginToProto(m *rest.PriceMargin, unknown func(field, name string)) *pb.PriceMargin {
	if m == nil {
		return nil
	}
	return &pb.PriceMargin{MarginRule: marginRuleToProto(m.MarginRule, unknown), Value: clonePtr(m.Value)}
}

// marginRuleToProto maps the upstream's margin rule name, in any casing.
func marginRuleToProto(e *rest.EnumName, unknown func(field, name string)) pb.MarginRule {
	name := enumName(e)
	switch {
	case name == "":
		return pb.MarginRule_MARGIN_RULE_UNSPECIFIED
	case strings.EqualFold(name, "Markup"):
		return pb.MarginRule_MARGIN_RULE_MARKUP
	case strings.EqualFold(name, "Margin"):
		return pb.MarginRule_MARGIN_RULE_MARGIN
	case strings.EqualFold(name, "SplitMargin"):
		return pb.MarginRule_MARGIN_RULE_SPLIT_MARGIN
	case strings.EqualFold(name, "ErpMinusDiscount"):
		return pb.MarginRule_MARGIN_RULE_ERP_MINUS_DISCOUNT
	}
	if unknown != nil {
		unknown("marginRule", name)
	}
	return pb.MarginRule_MARGIN_RULE_UNSPECIFIED
}

// statusToProto maps the upstream's provider reseller status name, in any
// casing.
func statusToProto(e *rest.EnumName, unknown func(field, name string)) pb.ProviderResellerStatus {
	name := enumName(e)
	switch {
	case name == "":
		return pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_UNSPECIFIED
	case strings.EqualFold(name, "Processing"):
		return pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_PROCESSING
	case strings.EqualFold(name, "Success"):
		return pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_SUCCESS
	case strings.EqualFold(name, "Failed"):
		return pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_FAILED
	}
	if unknown != nil {
		unknown("status", name)
	}
	return pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_UNSPECIFIED
}

func enumName(e *rest.EnumName) string {
	if e == nil || e.Name == nil {
		return ""
	}
	return strings.TrimSpace(*e.Name)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// clonePtr returns a pointer to a copy of *p, nil for nil: a message never
// shares memory with the upstream result, which coalesced callers share.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
