package service

import (
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

// resellerToProto maps the upstream reseller to protobuf. Nullable strings
// keep their presence; unknown enum names become UNSPECIFIED and are
// reported to unknown (which may be nil).
func resellerToProto(r *rest.Reseller, unknown func(field, name string)) *pb.Reseller {
	if r == nil {
		return &pb.Reseller{}
	}
	s := make(strs, 0, 15) // the 15 strings below, in one allocation
	out := &pb.Reseller{
		Id:                 deref(r.ID),
		CompanyName:        s.clone(r.CompanyName),
		Country:            s.clone(r.Country),
		AddressLine1:       s.clone(r.AddressLine1),
		AddressLine2:       s.clone(r.AddressLine2),
		City:               s.clone(r.City),
		State:              s.clone(r.State),
		ZipCode:            s.clone(r.ZipCode),
		FirstName:          s.clone(r.FirstName),
		LastName:           s.clone(r.LastName),
		Email:              s.clone(r.Email),
		Phone:              s.clone(r.Phone),
		InternalIdentifier: s.clone(r.InternalIdentifier),
		TaxId:              s.clone(r.TaxID),
		ProviderResellers:  make([]*pb.ProviderReseller, len(r.ProviderResellers)), // a length of 0 allocates nothing
	}
	for i := range r.ProviderResellers {
		out.ProviderResellers[i] = providerResellerToProto(&r.ProviderResellers[i], unknown)
	}
	if d := r.CustomDomain; d != nil {
		out.CustomDomain = &pb.CustomDomain{CustomDomain: s.clone(d.CustomDomain)}
		if d.Status != nil {
			out.CustomDomain.Status = s.clone(d.Status.Name)
		}
	}
	return out
}

// providerResellerToProto maps one provider reseller, with the Tier 2 data
// parsed out of its resellerProviderData string when it holds a JSON object.
func providerResellerToProto(p *rest.ProviderReseller, unknown func(field, name string)) *pb.ProviderReseller {
	s := make(strs, 0, 3)
	out := &pb.ProviderReseller{
		ProviderInstanceId:   deref(p.ProviderInstanceID),
		PriceMargin:          priceMarginToProto(p.PriceMargin, unknown),
		ProviderResellerId:   s.clone(p.ProviderResellerID),
		ResellerProviderData: s.clone(p.ResellerProviderData),
		Status:               enumToProto[pb.ProviderResellerStatus](p.Status, resellerStatuses, "status", unknown),
	}
	if len(p.OfferTypeMargins) > 0 {
		out.OfferTypeMargins = make(map[string]*pb.PriceMargin, len(p.OfferTypeMargins))
		for k, m := range p.OfferTypeMargins {
			out.OfferTypeMargins[k] = priceMarginToProto(&m, unknown)
		}
	}
	if d := p.ProviderData; d != nil {
		out.ProviderData = &pb.ProviderData{IndirectResellerId: s.clone(d.IndirectResellerID), SecondaryMpnIds: slices.Clone(d.SecondaryMpnIDs)}
	}
	return out
}

func priceMarginToProto(m *rest.PriceMargin, unknown func(field, name string)) *pb.PriceMargin {
	if m == nil {
		return nil
	}
	out := &pb.PriceMargin{MarginRule: enumToProto[pb.MarginRule](m.MarginRule, marginRules, "marginRule", unknown)}
	if m.Value != nil {
		out.Value = proto.Float64(*m.Value)
	}
	return out
}

// marginRules and resellerStatuses are the upstream's enum names, lower
// case, indexed by the values they map to.
var (
	marginRules = []string{
		pb.MarginRule_MARGIN_RULE_MARKUP:             "markup",
		pb.MarginRule_MARGIN_RULE_MARGIN:             "margin",
		pb.MarginRule_MARGIN_RULE_SPLIT_MARGIN:       "splitmargin",
		pb.MarginRule_MARGIN_RULE_ERP_MINUS_DISCOUNT: "erpminusdiscount",
	}
	resellerStatuses = []string{
		pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_PROCESSING: "processing",
		pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_SUCCESS:    "success",
		pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_FAILED:     "failed",
	}
)

// enumToProto maps the upstream's enum name e, in any casing, through values;
// an absent or unknown name is UNSPECIFIED, and an unknown one is reported.
func enumToProto[E ~int32](e *rest.EnumName, values []string, field string, unknown func(field, name string)) E {
	if e == nil || e.Name == nil {
		return 0
	}
	name := strings.TrimSpace(*e.Name)
	for v, k := range values { // no allocation, unlike strings.ToLower; no random start, unlike a map's range
		if strings.EqualFold(k, name) {
			return E(v)
		}
	}
	if name != "" && unknown != nil {
		unknown(field, name)
	}
	return 0
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// strs hands out pointers to copies of strings, nil for nil, from one
// allocation while its capacity lasts: a message never shares memory with
// the upstream result, which coalesced callers share.
type strs []string

func (s *strs) clone(p *string) *string {
	if p == nil {
		return nil
	}
	*s = append(*s, *p)
	return &(*s)[len(*s)-1]
}

// unknownNames collects the enum names one answer's mapping did not know,
// for a single warning however many there are: the first maxUnknownNames
// distinct "field=name" pairs, and the count of all.
type unknownNames struct {
	names []string
	count int
}

const maxUnknownNames = 4

func (u *unknownNames) add(field, name string) {
	u.count++
	if n := field + "=" + apierr.Truncate(name, 48); len(u.names) < maxUnknownNames && !slices.Contains(u.names, n) {
		u.names = append(u.names, n)
	}
}
