package service

import (
	"encoding/base64"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"log/slog"
	"strings"
	"sync"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
)

func TestSameGUID(t *testing.T) {
	const id = "f94f06fd-dc98-47fb-bd49-63bc98bd87f2"
	tests := []struct {
		name  string
		asked string
		got   *string
		want  bool
	}{
		{name: "same", asked: id, got: ptr(id), want: true},
		{name: "upper case answer", asked: id, got: ptr(strings.ToUpper(id)), want: true},
		{name: "upper case question", asked: strings.ToUpper(id), got: ptr(id), want: true},
		{name: "braces", asked: id, got: ptr("{" + id + "}"), want: true},
		{name: "no hyphens", asked: id, got: ptr(strings.ReplaceAll(id, "-", "")), want: true},
		{name: "another id", asked: id, got: ptr("f94f06fd-dc98-47fb-bd49-63bc98bd87f3"), want: false},
		{name: "missing", asked: id, got: nil, want: false},
		{name: "empty", asked: id, got: ptr(""), want: false},
		{name: "not a GUID", asked: id, got: ptr("string"), want: false},
		{name: "GUID with trailing text", asked: id, got: ptr(id + "x"), want: false},
		{name: "question not a GUID", asked: "string", got: ptr("string"), want: false},
		{name: "question not a GUID, the nil GUID answered", asked: "string", got: ptr("00000000-0000-0000-0000-000000000000"), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sameGUID(tt.asked, tt.got); got != tt.want {
				t.Errorf("sameGUID(%q, %v) = %v, want %v", tt.asked, tt.got, got, tt.want)
			}
		})
	}
}

// mismatchCounter records the operations WithOnMismatchedAnswer reports.
type mismatchCounter struct {
	mu  sync.Mutex
	ops []string
}

func (c *mismatchCounter) inc(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops = append(c.ops, op)
}

func (c *mismatchCounter) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ops
}

// tokenBase64 is the caller's token (testAuth) in base64.
var tokenBase64 = base64.StdEncoding.EncodeToString([]byte(strings.TrimPrefix(testAuth, "Bearer ")))

func TestGetResellerRejectsMismatchedAnswer(t *testing.T) {
	const other = "22222222-2222-4222-8222-222222222222"
	tests := []struct {
		name   string
		asked  string
		body   string
		wantID string // "": rejected
	}{
		{name: "same id", asked: testResellerID, body: `{"id":"` + testResellerID + `"}`, wantID: testResellerID},
		{name: "same id in upper case", asked: testResellerID, body: `{"id":"` + strings.ToUpper(testResellerID) + `"}`, wantID: strings.ToUpper(testResellerID)},
		{name: "asked in upper case", asked: strings.ToUpper(testResellerID), body: `{"Id":"` + testResellerID + `"}`, wantID: testResellerID},
		{name: "another reseller", asked: testResellerID, body: `{"id":"` + other + `","companyName":"Fabrikam"}`},
		{name: "no id", asked: testResellerID, body: `{"companyName":"Fabrikam"}`},
		{name: "null id", asked: testResellerID, body: `{"id":null}`},
		{name: "id not a GUID", asked: testResellerID, body: `{"id":"string"}`},
		{name: "id quoting the token in base64", asked: testResellerID, body: `{"id":"` + tokenBase64 + `"}`},
		{name: "last of repeated ids wins", asked: testResellerID, body: `{"id":"` + testResellerID + `","id":"` + other + `"}`},
		{name: "a 5,000-byte id", asked: testResellerID, body: `{"id":"` + strings.Repeat("x", 5000) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, answer(200, tt.body, "Content-Type", "application/json"))
			var logs lockedBuffer
			var counter mismatchCounter
			f := newFacade(t, up.url, WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))), WithOnMismatchedAnswer(counter.inc))
			got, err := f.resellers.GetReseller(callCtx(t, validMD()...), &pb.GetResellerRequest{ResellerId: tt.asked})
			if tt.wantID != "" {
				if err != nil {
					t.Fatalf("GetReseller() error = %v", err)
				}
				if diff := gocmp.Diff(&pb.Reseller{Id: tt.wantID}, got, protocmp.Transform()); diff != "" {
					t.Errorf("GetReseller() mismatch (-want +got):\n%s", diff)
				}
				if ops := counter.get(); len(ops) != 0 || logs.String() != "" {
					t.Errorf("counted %v and logged %q, want nothing", ops, logs.String())
				}
				return
			}
			if got != nil {
				t.Errorf("GetReseller() = %v, want nil", got)
			}
			checkStatus(t, err, wantStatus{
				code:    codes.Unavailable,
				msg:     "the upstream answered about another resource than the one asked for",
				details: details("UPSTREAM_ANSWER_MISMATCH", apierr.OpGetReseller, testCorrelationID, nil),
			})
			if diff := gocmp.Diff([]string{apierr.OpGetReseller}, counter.get()); diff != "" {
				t.Errorf("counted operations mismatch (-want +got):\n%s", diff)
			}
			if out := logs.String(); strings.Count(out, "\n") != 1 ||
				!strings.Contains(out, `"msg":"upstream answer rejected: its id is not the one asked for"`) ||
				!strings.Contains(out, `"asked_id":"`+tt.asked+`"`) || !strings.Contains(out, `"tenant":"`+testTenant+`"`) {
				t.Errorf("log = %q, want one warning naming the asked id and the tenant", out)
			}
			if n := len(logs.String()); n > 1024 {
				t.Errorf("log line of %d bytes, want the upstream's value cut (64 bytes)", n)
			}
			if strings.Contains(logs.String(), tokenBase64[8:40]) {
				t.Errorf("log %q quotes the caller's token", logs.String())
			}
			if strings.Contains(err.Error(), "Fabrikam") {
				t.Errorf("error %q carries the other reseller's data", err)
			}
		})
	}
}
