package stale_test

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/stale"
)

// fill sets every field of m: strings of n bytes, two elements in lists and
// maps, nested messages filled to depth levels.
func fill(m protoreflect.Message, n, depth int) {
	value := func(fd protoreflect.FieldDescriptor, mk func() protoreflect.Message) protoreflect.Value {
		switch fd.Kind() {
		case protoreflect.StringKind:
			return protoreflect.ValueOfString(string(make([]byte, n)))
		case protoreflect.EnumKind:
			return protoreflect.ValueOfEnum(1)
		case protoreflect.BoolKind:
			return protoreflect.ValueOfBool(true)
		case protoreflect.DoubleKind:
			return protoreflect.ValueOfFloat64(1.5)
		case protoreflect.MessageKind:
			sub := mk()
			if depth > 0 {
				fill(sub, n, depth-1)
			}
			return protoreflect.ValueOfMessage(sub)
		}
		return protoreflect.ValueOfInt64(1).Interface().(protoreflect.Value) // other kinds are not in the contract
	}
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		switch {
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for k := range 2 {
				mp.Set(protoreflect.ValueOfString(strconv.Itoa(k)).MapKey(), value(fd.MapValue(), mp.NewValue().Message))
			}
		case fd.IsList():
			l := m.Mutable(fd).List()
			for range 2 {
				l.Append(value(fd, l.NewElement().Message))
			}
		default:
			m.Set(fd, value(fd, m.NewField(fd).Message))
		}
	}
}

// decoded returns a function that decodes a new full reseller (fill, with
// strings of n bytes) each time, with strings of its own as an upstream
// answer's.
func decoded(n int) func() proto.Message {
	m := &pb.Reseller{}
	fill(m.ProtoReflect(), n, 2)
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return func() proto.Message {
		out := &pb.Reseller{}
		if err := proto.Unmarshal(b, out); err != nil {
			panic(err)
		}
		return out
	}
}

func heap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestHeapBound: 100,000 distinct ids through a store keep its weight under
// its bound, and the heap grows by no more than the bound and a small
// margin, for small and for full answers.
func TestHeapBound(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a store with 100,000 answers")
	}
	const bound, margin = 4 << 20, 1 << 20
	tests := []struct {
		name string
		msg  func() proto.Message // a new one each time, as decoded answers are
	}{
		{"acceptance link", func() proto.Message {
			return &pb.GetAcceptanceLinkResponse{Url: "https://portal.example.com/accept?token=" + uuid.NewString()}
		}},
		{"full reseller, short strings", decoded(4)},
		{"full reseller, long strings", decoded(40)},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if i > 0 && raceEnabled {
				t.Skip("full resellers take minutes under the race detector: run without -race")
			}
			before := heap()
			st := stale.New(time.Minute, bound, nil)
			defer st.Close()
			for range 100_000 {
				st.Put(st.Key("GetReseller", "portal.example.com", "Bearer token", uuid.NewString()), tt.msg())
			}
			grown := int64(heap()) - int64(before)
			t.Logf("%d entries, %d bytes by weight, heap grown %d bytes (%d per entry; wire size %d)", st.Len(), st.Bytes(), grown, grown/int64(max(st.Len(), 1)), proto.Size(tt.msg()))
			if st.Bytes() > bound {
				t.Errorf("weight %d bytes, over the bound %d", st.Bytes(), bound)
			}
			if grown > bound+margin {
				t.Errorf("heap grew by %d bytes, more than the bound %d and %d", grown, bound, margin)
			}
			runtime.KeepAlive(st)
		})
	}
}
