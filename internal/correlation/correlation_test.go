package correlation

import (
	"context"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"testing"

	"google.golang.org/grpc/metadata"
)

func TestIsUUID(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{"11111111-1111-4111-8111-111111111111", true},
		{"CB3CD15B-1D6E-45BE-B493-C71549CBFD87", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"", false},
		{"not-a-uuid", false},
		{"{11111111-1111-4111-8111-111111111111}", false},
		{"urn:uuid:11111111-1111-4111-8111-111111111111", false},
		{"11111111111141118111111111111111", false},
		{"cb3cd15b-1d6e-45be-b493-c71549cbfd8", false},
		{"cb3cd15b-1d6e-45be-b493-c71549cbfd877", false},
		{"cb3cd15b_1d6e-45be-b493-c71549cbfd87", false},
		{"cb3cd15b-1d6e-45be-b493-c71549cbfdzz", false},
		{"11111111-1111-4111-8111-11111111111g", false},
		{"11111111-1111-4111-8111-111111111111\n", false},
		{"11111111-1111-4111-8111/111111111111", false},
		{"11111111-1111-4111-8111-111111111111/..", false},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			if got := IsUUID(tt.give); got != tt.want {
				t.Errorf("IsUUID(%q) = %v, want %v", tt.give, got, tt.want)
			}
		})
	}
}

func TestEnsure(t *testing.T) {
	const valid = "0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f"
	tests := []struct {
		name         string
		give         []string
		wantValue    string // "" means: a generated UUID
		wantRejected string
	}{
		{name: "absent", give: nil},
		{name: "empty", give: []string{""}},
		{name: "valid", give: []string{valid}, wantValue: valid},
		{name: "invalid", give: []string{"abc"}, wantRejected: "abc"},
		{name: "twice", give: []string{valid, valid}, wantRejected: valid + "," + valid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := metadata.MD{}
			for _, v := range tt.give {
				md.Append(apierr.MDCorrelationID, v)
			}
			ctx := metadata.NewIncomingContext(context.Background(), md)
			ctx, id := Ensure(ctx)
			if tt.wantValue != "" && id.Value != tt.wantValue {
				t.Errorf("Value = %q, want %q", id.Value, tt.wantValue)
			}
			if !IsUUID(id.Value) {
				t.Errorf("Value = %q, not a UUID", id.Value)
			}
			if id.Rejected != tt.wantRejected {
				t.Errorf("Rejected = %q, want %q", id.Rejected, tt.wantRejected)
			}
			if _, again := Ensure(ctx); again != id {
				t.Errorf("second Ensure = %+v, want %+v", again, id)
			}
		})
	}
}
