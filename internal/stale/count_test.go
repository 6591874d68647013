package stale

import (
	"strconv"
	"testing"
	"time"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
)

// TestCountsGoWithTheirAnswers: a credential's count goes with its last
// answer, so rotating tokens leave no bookkeeping behind.
func TestCountsGoWithTheirAnswers(t *testing.T) {
	s := New(time.Minute, 0, nil)
	defer s.Close()
	for i := range 100 {
		k := s.Key("GetReseller", "a.example.com", "Bearer t"+strconv.Itoa(i), "11111111-1111-4111-8111-111111111111")
		s.Put(k, &pb.Reseller{})
		s.cache.Invalidate(k)
	}
	s.cache.CleanUp()
	s.mu.Lock()
	n := len(s.perCred)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("%d credentials counted after their answers went, want 0", n)
	}
}
