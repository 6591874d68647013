package rest

// Clone returns a deep copy of r that shares no memory a caller could change
// with r: every pointer, slice and map is new (nil stays nil, empty stays
// empty). Coalesced calls hand each waiter its own copy made with it.
func (r *Reseller) Clone() *Reseller {
	if r == nil {
		return nil
	}
	out := &Reseller{
		ID:                 cloneString(r.ID),
		CompanyName:        cloneString(r.CompanyName),
		Country:            cloneString(r.Country),
		AddressLine1:       cloneString(r.AddressLine1),
		AddressLine2:       cloneString(r.AddressLine2),
		City:               cloneString(r.City),
		State:              cloneString(r.State),
		ZipCode:            cloneString(r.ZipCode),
		FirstName:          cloneString(r.FirstName),
		LastName:           cloneString(r.LastName),
		Email:              cloneString(r.Email),
		Phone:              cloneString(r.Phone),
		InternalIdentifier: cloneString(r.InternalIdentifier),
		TaxID:              cloneString(r.TaxID),
	}
	if r.ProviderResellers != nil {
		out.ProviderResellers = make([]ProviderReseller, len(r.ProviderResellers))
		for i, pr := range r.ProviderResellers {
			out.ProviderResellers[i] = ProviderReseller{
				ProviderInstanceID:   cloneString(pr.ProviderInstanceID),
				PriceMargin:          clonePriceMarginPtr(pr.PriceMargin),
				OfferTypeMargins:     cloneOfferTypeMargins(pr.OfferTypeMargins),
				ProviderResellerID:   cloneString(pr.ProviderResellerID),
				ResellerProviderData: cloneString(pr.ResellerProviderData),
				ProviderData:         cloneProviderData(pr.ProviderData),
				Status:               cloneEnum(pr.Status),
			}
		}
	}
	if cd := r.CustomDomain; cd != nil {
		out.CustomDomain = &CustomDomain{CustomDomain: cloneString(cd.CustomDomain), Status: cloneEnum(cd.Status)}
	}
	return out
}

func cloneString(p *string) *string {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneEnum(e *EnumName) *EnumName {
	if e == nil {
		return nil
	}
	return &EnumName{Name: cloneString(e.Name)}
}

func clonePriceMargin(pm PriceMargin) PriceMargin {
	out := PriceMargin{MarginRule: cloneEnum(pm.MarginRule)}
	if pm.Value != nil {
		v := *pm.Value
		out.Value = &v
	}
	return out
}

func clonePriceMarginPtr(pm *PriceMargin) *PriceMargin {
	if pm == nil {
		return nil
	}
	out := clonePriceMargin(*pm)
	return &out
}

func cloneOfferTypeMargins(m OfferTypeMargins) OfferTypeMargins {
	if m == nil {
		return nil
	}
	out := make(OfferTypeMargins, len(m))
	for k, v := range m {
		out[k] = clonePriceMargin(v)
	}
	return out
}

func cloneProviderData(d *ProviderData) *ProviderData {
	if d == nil {
		return nil
	}
	out := &ProviderData{IndirectResellerID: cloneString(d.IndirectResellerID)}
	if d.SecondaryMpnIDs != nil {
		out.SecondaryMpnIDs = append([]string{}, d.SecondaryMpnIDs...)
	}
	return out
}
