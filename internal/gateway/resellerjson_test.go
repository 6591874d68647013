package gateway

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
)

// everyFieldReseller sets every field of every message, so that a field the
// encoder forgets shows up as a difference.
func everyFieldReseller() *pb.Reseller {
	s := proto.String
	return &pb.Reseller{
		Id: "11111111-1111-4111-8111-111111111111", CompanyName: s("Contoso <Ltd> & \"Co\""), Country: s("PT"),
		AddressLine1: s("Rua 1\n2º"), AddressLine2: s(""), City: s("Lisboa"), State: s("Lisboa"), ZipCode: s("1000-001"),
		FirstName: s("Zoë"), LastName: s("O'Brien"), Email: s("a@b.example"), Phone: s("+351 21 000 0000"),
		InternalIdentifier: s("\\x\t\u2028\ufffd😀"), TaxId: s("PT123456789"),
		ProviderResellers: []*pb.ProviderReseller{{
			ProviderInstanceId: "cb3cd15b-1d6e-45be-b493-c71549cbfd87",
			PriceMargin:        &pb.PriceMargin{MarginRule: pb.MarginRule_MARGIN_RULE_MARKUP, Value: proto.Float64(12.5)},
			OfferTypeMargins: map[string]*pb.PriceMargin{
				"NCE":     {MarginRule: pb.MarginRule_MARGIN_RULE_SPLIT_MARGIN, Value: proto.Float64(0.1)},
				"AZURE":   {MarginRule: pb.MarginRule_MARGIN_RULE_ERP_MINUS_DISCOUNT},
				"\x01ctl": {Value: proto.Float64(math.Copysign(0, -1))},
			},
			ProviderResellerId:   s("4794019"),
			ResellerProviderData: s(`{"indirectResellerId":"x","secondaryMpnIds":["1","2"]}`),
			Status:               pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_SUCCESS,
			ProviderData:         &pb.ProviderData{IndirectResellerId: s("x"), SecondaryMpnIds: []string{"1", "2"}},
		}, {}},
		CustomDomain: &pb.CustomDomain{CustomDomain: s("portal.example"), Status: s("Verified")},
	}
}

// protojsonOf is the reference: the mirror's protojson options.
func protojsonOf(t testing.TB, r *pb.Reseller) ([]byte, error) {
	t.Helper()
	return newMarshaler().JSONPb.Marshal(r)
}

// sameJSON compares two JSON documents by meaning, numbers by their text.
func sameJSON(t testing.TB, got, want []byte) string {
	t.Helper()
	decode := func(b []byte) any {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatalf("not JSON (%v): %s", err, b)
		}
		return v
	}
	return cmp.Diff(decode(want), decode(got))
}

func TestResellerJSONMatchesProtojson(t *testing.T) {
	nilValue := everyFieldReseller()
	nilValue.ProviderResellers[0].OfferTypeMargins["nil"] = nil
	unknownEnums := everyFieldReseller()
	unknownEnums.ProviderResellers[0].Status = 42
	unknownEnums.ProviderResellers[0].PriceMargin.MarginRule = -3
	tests := []struct {
		name string
		give *pb.Reseller
	}{
		{"every field set", everyFieldReseller()},
		{"empty", &pb.Reseller{}},
		{"a nil map value", nilValue},
		{"unknown enum numbers", unknownEnums},
		{"empty provider data and domain", &pb.Reseller{Id: "x", CustomDomain: &pb.CustomDomain{}, ProviderResellers: []*pb.ProviderReseller{{ProviderData: &pb.ProviderData{}, PriceMargin: &pb.PriceMargin{}}}}},
	}
	for _, f := range []float64{0, 1, -1, 0.1, 1e-6, 1e-7, 9.99e-7, 1e20, 1e21, 1.5e300, -2.5e-300, math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1)} {
		tests = append(tests, struct {
			name string
			give *pb.Reseller
		}{"value " + jsonFloatName(f), &pb.Reseller{ProviderResellers: []*pb.ProviderReseller{{PriceMargin: &pb.PriceMargin{Value: proto.Float64(f)}}}}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := protojsonOf(t, tt.give)
			if err != nil {
				t.Fatal(err)
			}
			got, err := appendResellerJSON(nil, tt.give)
			if err != nil {
				t.Fatal(err)
			}
			if d := sameJSON(t, got, want); d != "" {
				t.Errorf("JSON differs from protojson (-protojson +ours):\n%s\nours: %s", d, got)
			}
		})
	}
}

func jsonFloatName(f float64) string {
	b, _ := json.Marshal(string(appendJSONFloat(nil, f)))
	return string(b)
}

func TestResellerJSONRejectsInvalidUTF8(t *testing.T) {
	r := &pb.Reseller{Id: "ok", City: proto.String("Lisb\xffoa")}
	if _, err := protojsonOf(t, r); err == nil {
		t.Fatal("protojson accepted invalid UTF-8; the test's premise is wrong")
	}
	if _, err := appendResellerJSON(nil, r); err == nil {
		t.Error("appendResellerJSON accepted invalid UTF-8, want an error as protojson")
	}
}

func TestMarshalerUsesResellerEncoder(t *testing.T) {
	m := newMarshaler()
	got, err := m.Marshal(everyFieldReseller())
	if err != nil {
		t.Fatal(err)
	}
	want, err := appendResellerJSON(nil, everyFieldReseller())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Marshal(*Reseller) = %s, want the encoder's %s", got, want)
	}
	// Everything else still goes through protojson.
	if got, err := m.Marshal(&pb.GetAcceptanceLinkResponse{Url: "https://x.example/?a=1&b=<2>"}); err != nil || !bytes.Contains(got, []byte(`"url"`)) {
		t.Errorf("Marshal(response) = %s, %v", got, err)
	}
}

// FuzzResellerJSON decodes the input as a protobuf Reseller (any field,
// any value the wire format can carry) and checks that the encoder writes
// what protojson writes, or fails where protojson fails. Seed corpus: the
// test cases above, in wire form.
func FuzzResellerJSON(f *testing.F) {
	for _, r := range []*pb.Reseller{everyFieldReseller(), {}, {Id: "a\x00b"}} {
		b, err := proto.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r pb.Reseller
		if err := (proto.UnmarshalOptions{}).Unmarshal(data, &r); err != nil {
			return
		}
		want, werr := protojsonOf(t, &r)
		got, gerr := appendResellerJSON(nil, &r)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("protojson error %v, encoder error %v", werr, gerr)
		}
		if werr != nil {
			return
		}
		if d := sameJSON(t, got, want); d != "" {
			t.Fatalf("JSON differs from protojson (-protojson +ours):\n%s", d)
		}
	})
}

func BenchmarkResellerJSON(b *testing.B) {
	r := everyFieldReseller()
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := protojsonOf(b, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := appendResellerJSON(make([]byte, 0, 2048), r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
