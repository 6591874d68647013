package rest

// The readers of the Reseller DTOs, with the semantics described in
// wire.go.

// reseller reads a Reseller object (the caller has checked that one
// comes).
func (r *reader) reseller(x *Reseller) error {
	if err := r.token(); err != nil {
		return err
	}
	for r.more() {
		name, err := r.memberName()
		if err != nil {
			return err
		}
		switch string(name) {
		case "id":
			err = r.str(&x.ID)
		case "companyname":
			err = r.str(&x.CompanyName)
		case "country":
			err = r.str(&x.Country)
		case "addressline1":
			err = r.str(&x.AddressLine1)
		case "addressline2":
			err = r.str(&x.AddressLine2)
		case "city":
			err = r.str(&x.City)
		case "state":
			err = r.str(&x.State)
		case "zipcode":
			err = r.str(&x.ZipCode)
		case "firstname":
			err = r.str(&x.FirstName)
		case "lastname":
			err = r.str(&x.LastName)
		case "email":
			err = r.str(&x.Email)
		case "phone":
			err = r.str(&x.Phone)
		case "internalidentifier":
			err = r.str(&x.InternalIdentifier)
		case "taxid":
			err = r.str(&x.TaxID)
		case "providerresellers":
			err = r.providerResellers(&x.ProviderResellers)
		case "customdomain":
			err = object(r, &x.CustomDomain, (*reader).customDomain)
		default:
			err = r.dec.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	return r.token()
}

// providerResellers reads an array of provider resellers, or null, into *p.
// Like encoding/json, it decodes into the elements already in the slice
// (the earlier value of a repeated name), up to its capacity.
func (r *reader) providerResellers(p *[]ProviderReseller) error {
	switch k := r.dec.PeekKind(); k {
	case 'n':
		*p = nil
		return r.token()
	case '[':
	default:
		return r.mismatch(k, "an array")
	}
	if err := r.token(); err != nil {
		return err
	}
	s := (*p)[:0]
	for r.more() {
		if len(s) < cap(s) {
			s = s[:len(s)+1]
		} else {
			s = append(s, ProviderReseller{})
		}
		if err := r.providerResellerElement(&s[len(s)-1]); err != nil {
			return err
		}
	}
	if len(s) == 0 {
		s = []ProviderReseller{}
	}
	*p = s
	return r.token()
}

// providerResellerElement reads an array element into *x: an object is
// merged into it, null leaves it as it is.
func (r *reader) providerResellerElement(x *ProviderReseller) error {
	switch k := r.dec.PeekKind(); k {
	case 'n':
		return r.token()
	case '{':
		return r.providerReseller(x)
	default:
		return r.mismatch(k, "an object")
	}
}

// providerReseller reads a ProviderReseller object.
func (r *reader) providerReseller(x *ProviderReseller) error {
	if err := r.token(); err != nil {
		return err
	}
	for r.more() {
		name, err := r.memberName()
		if err != nil {
			return err
		}
		switch string(name) {
		case "providerinstanceid":
			err = r.str(&x.ProviderInstanceID)
		case "pricemargin":
			err = object(r, &x.PriceMargin, (*reader).priceMargin)
		case "offertypemargins":
			err = r.offerTypeMargins(&x.OfferTypeMargins)
		case "providerresellerid":
			err = r.str(&x.ProviderResellerID)
		case "resellerproviderdata":
			err = r.resellerProviderData(x)
		case "status":
			err = object(r, &x.Status, (*reader).enumName)
		default:
			err = r.dec.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	return r.token()
}

// resellerProviderData reads the resellerProviderData string and parses the
// JSON document in it into x.ProviderData (nil when it is not an object;
// see ParseProviderData).
func (r *reader) resellerProviderData(x *ProviderReseller) error {
	switch k := r.dec.PeekKind(); k {
	case 'n':
		x.ResellerProviderData, x.ProviderData = nil, nil
		return r.token()
	case '"':
	default:
		return r.mismatch(k, "a string")
	}
	raw, err := r.dec.ReadValue()
	if err != nil {
		return err
	}
	text := r.unquote(raw)
	x.ResellerProviderData, x.ProviderData = r.newString(text), nil
	if d, ok := parseProviderData(text); ok {
		x.ProviderData = &d
	}
	return nil
}

// priceMargin reads a PriceMargin object.
func (r *reader) priceMargin(x *PriceMargin) error {
	if err := r.token(); err != nil {
		return err
	}
	for r.more() {
		name, err := r.memberName()
		if err != nil {
			return err
		}
		switch string(name) {
		case "marginrule":
			err = object(r, &x.MarginRule, (*reader).enumName)
		case "value":
			err = r.float(&x.Value)
		default:
			err = r.dec.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	return r.token()
}

// priceMarginEntry reads an offer type's margin: an object, or null for
// the zero PriceMargin.
func (r *reader) priceMarginEntry(x *PriceMargin) error {
	switch k := r.dec.PeekKind(); k {
	case 'n':
		return r.token()
	case '{':
		return r.priceMargin(x)
	default:
		return r.mismatch(k, "an object")
	}
}

// enumName reads an EnumName object.
func (r *reader) enumName(x *EnumName) error {
	if err := r.token(); err != nil {
		return err
	}
	for r.more() {
		name, err := r.memberName()
		if err != nil {
			return err
		}
		if string(name) == "name" {
			err = r.str(&x.Name)
		} else {
			err = r.dec.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	return r.token()
}

// customDomain reads a CustomDomain object.
func (r *reader) customDomain(x *CustomDomain) error {
	if err := r.token(); err != nil {
		return err
	}
	for r.more() {
		name, err := r.memberName()
		if err != nil {
			return err
		}
		switch string(name) {
		case "customdomain":
			err = r.str(&x.CustomDomain)
		case "status":
			err = object(r, &x.Status, (*reader).enumName)
		default:
			err = r.dec.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	return r.token()
}

// parseProviderData parses a resellerProviderData document (see
// ParseProviderData).
func parseProviderData(b []byte) (ProviderData, bool) {
	b = trimLeft(b)
	if len(b) == 0 || b[0] != '{' {
		return ProviderData{}, false
	}
	var d ProviderData
	if err := decodeValue(b, &d, (*reader).providerData); err != nil {
		return ProviderData{}, false
	}
	return d, true
}

// providerData reads a ProviderData object.
func (r *reader) providerData(x *ProviderData) error {
	if err := r.token(); err != nil {
		return err
	}
	for r.more() {
		name, err := r.memberName()
		if err != nil {
			return err
		}
		switch string(name) {
		case "indirectresellerid":
			err = r.str(&x.IndirectResellerID)
		case "secondarympnids":
			err = r.mpnIDs(&x.SecondaryMpnIDs)
		default:
			err = r.dec.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	return r.token()
}

// mpnIDs reads null, or an array of ids that may be strings or numbers
// (kept as their literal text), skipping nulls.
func (r *reader) mpnIDs(p *[]string) error {
	switch k := r.dec.PeekKind(); k {
	case 'n':
		*p = nil
		return r.token()
	case '[':
	default:
		return r.mismatch(k, "an array")
	}
	if err := r.token(); err != nil {
		return err
	}
	ids := []string{}
	for r.more() {
		switch k := r.dec.PeekKind(); k {
		case 'n':
			if err := r.token(); err != nil {
				return err
			}
		case '"', '0':
			raw, err := r.dec.ReadValue()
			if err != nil {
				return err
			}
			if k == '"' {
				ids = append(ids, string(r.unquote(raw)))
			} else {
				ids = append(ids, string(raw))
			}
		default:
			return r.mismatch(k, "a string or a number")
		}
	}
	*p = ids
	return r.token()
}
