package server

import (
	"bytes"
	"sync"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
)

func marshalWith(t *testing.T, c *sharedWireCodec, v any) []byte {
	t.Helper()
	data, err := c.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	defer data.Free()
	return data.Materialize()
}

func TestSharedWireCodec(t *testing.T) {
	c := newSharedWireCodec()
	if c.Name() != "proto" {
		t.Fatalf("Name() = %q, want proto", c.Name())
	}
	a := &pb.Reseller{Id: "a", CompanyName: proto.String("Contoso")}
	b := &pb.Reseller{Id: "b", CompanyName: proto.String("Fabrikam")}
	want := func(m proto.Message) []byte {
		w, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	tests := []struct {
		name string
		give any
		want []byte
	}{
		{"another message type goes to grpc's codec", &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, want(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING})},
		{"first send of a", a, want(a)},
		{"second send of a: encoded and kept", a, want(a)},
		{"third send of a: the kept encoding", a, want(a)},
		{"b, equal in type, another message", b, want(b)},
		{"a again", a, want(a)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := marshalWith(t, c, tt.give); !bytes.Equal(got, tt.want) {
				t.Errorf("Marshal() = %x, want %x", got, tt.want)
			}
		})
	}
	// Unmarshal is grpc's.
	var got pb.Reseller
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(want(a))}, &got); err != nil || !proto.Equal(&got, a) {
		t.Errorf("Unmarshal() = %v, %v", &got, err)
	}
}

func TestSharedWireCodecConcurrent(t *testing.T) {
	c := newSharedWireCodec()
	msgs := make([]*pb.Reseller, 3*wireSlots)
	wants := make([][]byte, len(msgs))
	for i := range msgs {
		msgs[i] = &pb.Reseller{Id: string(rune('A' + i%26)), City: proto.String(string(rune('a' + i%26)))}
		w, err := proto.Marshal(msgs[i])
		if err != nil {
			t.Fatal(err)
		}
		wants[i] = w
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 3000 {
				k := (i*5 + g) % len(msgs)
				if i%3 == 0 {
					k = 0 // one message sent by everyone, as after a coalesced request
				}
				if got := marshalWith(t, c, msgs[k]); !bytes.Equal(got, wants[k]) {
					t.Errorf("message %d encoded as %x, want %x", k, got, wants[k])
					return
				}
			}
		})
	}
	wg.Wait()
}
