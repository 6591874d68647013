package service

import (
	"sync"
	"sync/atomic"
	"testing"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

func TestMappingMemo(t *testing.T) {
	m := newMappingMemo()
	var calls atomic.Int32
	mapFn := func(r *rest.Reseller) *pb.Reseller {
		calls.Add(1)
		return &pb.Reseller{Id: *r.ID}
	}
	a, b := &rest.Reseller{ID: ptr("a")}, &rest.Reseller{ID: ptr("a")} // equal values, two results
	first := m.get(a, mapFn)
	if again := m.get(a, mapFn); again != first || calls.Load() != 1 {
		t.Fatalf("the same result mapped again (calls %d), want the remembered message", calls.Load())
	}
	if other := m.get(b, mapFn); other == first || other.GetId() != "a" || calls.Load() != 2 {
		t.Fatalf("another result with equal contents got the first one's message (calls %d)", calls.Load())
	}

	// Many results: every get answers the message of its own result, even
	// when results evict one another from the slots.
	srcs := make([]*rest.Reseller, 4*memoSlots)
	for i := range srcs {
		srcs[i] = &rest.Reseller{ID: ptr(string(rune('A' + i%26)))}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				src := srcs[(i*7+g)%len(srcs)]
				if got := m.get(src, mapFn); got.GetId() != *src.ID {
					t.Errorf("get = %q, want the message of %q", got.GetId(), *src.ID)
					return
				}
			}
		})
	}
	wg.Wait()
}
