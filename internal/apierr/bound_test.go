package apierr

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
)

// violations returns n field violations whose descriptions are size bytes.
func violations(n, size int) []*errdetails.BadRequest_FieldViolation {
	fvs := make([]*errdetails.BadRequest_FieldViolation, n)
	for i := range fvs {
		fvs[i] = &errdetails.BadRequest_FieldViolation{Field: "resellerId" + strconv.Itoa(i), Description: strings.Repeat("d", size)}
	}
	return fvs
}

func TestBound(t *testing.T) {
	tests := []struct {
		name        string
		msg         string
		fvs         []*errdetails.BadRequest_FieldViolation
		wantKept    int // field violations kept, the summary not counted
		wantOmitted int
		wantMsgLen  int
	}{
		{name: "within bounds", msg: "m", fvs: violations(3, 20), wantKept: 3, wantMsgLen: 1},
		{name: "exactly the most violations", msg: "m", fvs: violations(MaxFieldViolations, 20), wantKept: MaxFieldViolations, wantMsgLen: 1},
		{name: "12,000 small violations", msg: "One or more validation errors occurred.", fvs: violations(12000, 40), wantKept: MaxFieldViolations, wantOmitted: 12000 - MaxFieldViolations, wantMsgLen: 39},
		{name: "large violations", msg: "m", fvs: violations(30, 1000), wantKept: 3, wantOmitted: 27, wantMsgLen: 1},
		{name: "long message", msg: strings.Repeat("x", 5000), fvs: violations(1, 10), wantKept: 1, wantMsgLen: MaxMessageBytes},
		{name: "small violations past the most", msg: "m", fvs: violations(MaxFieldViolations+5, 1), wantKept: MaxFieldViolations, wantOmitted: 5, wantMsgLen: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := New(Spec{
				Code: codes.InvalidArgument, Message: tt.msg, Reason: ReasonUpstreamBadRequest, RequestID: "rid",
				Metadata: map[string]string{MetaOperation: "GetReseller"},
				Details:  []protoadapt.MessageV1{&errdetails.BadRequest{FieldViolations: tt.fvs}},
			})
			encoded, err := proto.Marshal(st.Proto())
			if err != nil {
				t.Fatal(err)
			}
			if len(encoded) > MaxStatusBytes {
				t.Errorf("encoded status = %d bytes, want <= %d", len(encoded), MaxStatusBytes)
			}
			if n := len(base64.RawStdEncoding.EncodeToString(encoded)); n >= 8<<10 {
				t.Errorf("grpc-status-details-bin = %d bytes, want < 8 KiB", n)
			}
			if got := len(st.Message()); got != tt.wantMsgLen {
				t.Errorf("message length = %d, want %d", got, tt.wantMsgLen)
			}
			var info *errdetails.ErrorInfo
			var br *errdetails.BadRequest
			for _, d := range st.Details() {
				switch d := d.(type) {
				case *errdetails.ErrorInfo:
					info = d
				case *errdetails.BadRequest:
					br = d
				}
			}
			if info == nil || br == nil {
				t.Fatalf("details = %v, want ErrorInfo and BadRequest", st.Details())
			}
			fvs := br.GetFieldViolations()
			gotOmitted := 0
			if tt.wantOmitted > 0 {
				last := fvs[len(fvs)-1]
				if want := "and " + strconv.Itoa(tt.wantOmitted) + " more"; last.GetField() != "" || last.GetDescription() != want {
					t.Errorf("last violation = %v, want the summary %q", last, want)
				}
				fvs = fvs[:len(fvs)-1]
				gotOmitted, _ = strconv.Atoi(info.GetMetadata()[MetaOmittedViolations])
			} else if v, ok := info.GetMetadata()[MetaOmittedViolations]; ok {
				t.Errorf("metadata %s = %q, want none", MetaOmittedViolations, v)
			}
			if len(fvs) != tt.wantKept || gotOmitted != tt.wantOmitted {
				t.Errorf("kept %d, omitted %d; want %d, %d", len(fvs), gotOmitted, tt.wantKept, tt.wantOmitted)
			}
			for i, fv := range fvs {
				if want := "resellerId" + strconv.Itoa(i); fv.GetField() != want {
					t.Errorf("violation %d field = %q, want %q (the first ones, in order)", i, fv.GetField(), want)
				}
			}
		})
	}
}

// TestBoundLastResort: a status too large even without field violations
// keeps its ErrorInfo and RequestInfo.
func TestBoundLastResort(t *testing.T) {
	var details []protoadapt.MessageV1
	for range 50 {
		details = append(details, &errdetails.Help{Links: []*errdetails.Help_Link{{Description: strings.Repeat("h", 100), Url: strings.Repeat("u", 100)}}})
	}
	st := New(Spec{Code: codes.Internal, Message: "m", Reason: ReasonUpstreamInternal, RequestID: "rid", Details: details})
	if n := proto.Size(st.Proto()); n > MaxStatusBytes {
		t.Errorf("encoded status = %d bytes, want <= %d", n, MaxStatusBytes)
	}
	var reasons []string
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			reasons = append(reasons, info.GetReason())
		}
	}
	if len(reasons) != 1 || reasons[0] != ReasonUpstreamInternal {
		t.Errorf("ErrorInfo reasons = %v, want [%s]", reasons, ReasonUpstreamInternal)
	}
}

// TestBoundShortensDetailStrings: a status still too large once its
// message is cut keeps its details with their strings shortened (128 bytes)
// before it loses them.
func TestBoundShortensDetailStrings(t *testing.T) {
	st := New(Spec{Code: codes.NotFound, Message: "m", Reason: ReasonUpstreamNotFound, RequestID: "rid",
		Details: []protoadapt.MessageV1{&errdetails.ResourceInfo{ResourceType: "reseller", ResourceName: "r1", Description: strings.Repeat("d", 5000)}}})
	var info *errdetails.ResourceInfo
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.ResourceInfo); ok {
			info = ri
		}
	}
	if info == nil || info.GetResourceName() != "r1" || len(info.GetDescription()) > 128+len("…") {
		t.Errorf("ResourceInfo = %v, want it kept, its description cut to 128 bytes", info)
	}
	if n := proto.Size(st.Proto()); n > MaxStatusBytes {
		t.Errorf("encoded status = %d bytes, want <= %d", n, MaxStatusBytes)
	}
}

// TestBoundUnchangedWithinBounds: a status within the bounds, up to a message
// of exactly MaxMessageBytes and an encoding of exactly MaxStatusBytes, is
// returned as it is.
func TestBoundUnchangedWithinBounds(t *testing.T) {
	st := New(Spec{Code: codes.NotFound, Message: "not found", Reason: ReasonUpstreamNotFound, RequestID: "rid"})
	if got := Bound(st); got != st {
		t.Error("Bound returned a new status for one within the bounds")
	}
	st = New(Spec{Code: codes.NotFound, Message: strings.Repeat("m", MaxMessageBytes), Reason: ReasonUpstreamNotFound, RequestID: "rid",
		Details: []protoadapt.MessageV1{&errdetails.BadRequest{FieldViolations: violations(1, 1)}}})
	if got := Bound(st); got != st {
		t.Errorf("Bound returned a new status for a message of exactly %d bytes", MaxMessageBytes)
	}
	for n := 3900; n < 4100; n++ { // a Help link whose encoding brings the status to exactly MaxStatusBytes
		help := &errdetails.Help{Links: []*errdetails.Help_Link{{Description: strings.Repeat("h", n)}}}
		st := status.New(codes.Internal, "m")
		st, err := st.WithDetails(&errdetails.ErrorInfo{Reason: ReasonUpstreamInternal, Domain: Domain}, help)
		if err != nil {
			t.Fatal(err)
		}
		if proto.Size(st.Proto()) == MaxStatusBytes {
			if got := Bound(st); got != st {
				t.Errorf("Bound returned a new status for one of exactly %d bytes", MaxStatusBytes)
			}
			return
		}
	}
	t.Fatal("no Help link made a status of exactly MaxStatusBytes")
}

// TestBoundKeepsTheMostViolationsThatFit: whatever the message's length,
// Bound keeps as many violations as fit in MaxStatusBytes (one more would
// not), never more than MaxFieldViolations.
func TestBoundKeepsTheMostViolationsThatFit(t *testing.T) {
	all := violations(30, 250)
	for n := 1; n <= MaxMessageBytes; n++ {
		st := New(Spec{Code: codes.InvalidArgument, Message: strings.Repeat("m", n), Reason: ReasonUpstreamBadRequest, RequestID: "rid",
			Details: []protoadapt.MessageV1{&errdetails.BadRequest{FieldViolations: all}}})
		p := st.Proto()
		if proto.Size(p) > MaxStatusBytes {
			t.Fatalf("message of %d bytes: status of %d bytes", n, proto.Size(p))
		}
		br, i := detailOf[errdetails.BadRequest](p)
		kept := len(br.GetFieldViolations()) - 1 // the summary
		if kept >= MaxFieldViolations {
			t.Fatalf("message of %d bytes: %d violations kept, want fewer than %d at this size", n, kept, MaxFieldViolations)
		}
		setViolations(p, i, all[:kept+1], len(all)-kept-1)
		if proto.Size(p) <= MaxStatusBytes {
			t.Fatalf("message of %d bytes: %d violations kept, but %d fit", n, kept, kept+1)
		}
	}
}

// TestBoundWithoutRoomForAnyViolation: a status too large with no field
// violation left keeps none but the summary and loses its other details,
// keeping ErrorInfo and RequestInfo.
func TestBoundWithoutRoomForAnyViolation(t *testing.T) {
	details := []protoadapt.MessageV1{&errdetails.BadRequest{FieldViolations: violations(3, 10)}}
	for range 50 {
		details = append(details, &errdetails.Help{Links: []*errdetails.Help_Link{{Description: strings.Repeat("h", 100), Url: strings.Repeat("u", 100)}}})
	}
	st := New(Spec{Code: codes.InvalidArgument, Message: "m", Reason: ReasonUpstreamBadRequest, RequestID: "rid", Details: details})
	if n := proto.Size(st.Proto()); n > MaxStatusBytes {
		t.Errorf("encoded status = %d bytes, want <= %d", n, MaxStatusBytes)
	}
	if InfoOf(st).GetReason() != ReasonUpstreamBadRequest {
		t.Errorf("ErrorInfo = %v, want it kept", InfoOf(st))
	}
}

// TestBoundsAsDocumented: the bounds are the values docs/errors.md#bounds
// gives, which clients' metadata limits (8 KiB) depend on.
func TestBoundsAsDocumented(t *testing.T) {
	if MaxFieldViolations != 20 || MaxMessageBytes != 1024 || MaxStatusBytes != 4096 {
		t.Errorf("bounds %d violations, %d message bytes, %d status bytes; docs/errors.md gives 20, 1,024 and 4,096",
			MaxFieldViolations, MaxMessageBytes, MaxStatusBytes)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		give string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcdef", 5, "ab…"},
		{"abcd", 3, "…"},
		{"ééé", 6, "ééé"},
		{"éééé", 7, "éé…"},
		{"éééé", 6, "é…"}, // never half a rune
		{"a—b", 4, "a…"},
		{"a—bcde", 7, "a—…"},
		{"\x80\x80\x80\x80\x80", 4, "…"}, // no rune starts: cut to nothing
	}
	for _, tt := range tests {
		got := Truncate(tt.give, tt.n)
		if got != tt.want || utf8.ValidString(tt.give) && !utf8.ValidString(got) || len(got) > tt.n {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.give, tt.n, got, tt.want)
		}
	}
}

// TestBoundTwice: bounding a bounded status (as the REST mirror does with
// the services' statuses) changes nothing.
func TestBoundTwice(t *testing.T) {
	once := New(Spec{
		Code: codes.InvalidArgument, Message: "m", Reason: ReasonUpstreamBadRequest, RequestID: "rid",
		Details: []protoadapt.MessageV1{&errdetails.BadRequest{FieldViolations: violations(500, 30)}},
	})
	twice := Bound(once)
	if !proto.Equal(once.Proto(), twice.Proto()) {
		t.Errorf("Bound(Bound(st)) differs from Bound(st):\n%v\n%v", once.Proto(), twice.Proto())
	}
}

// TestBoundKeepsAFieldlessLastViolation: only a status bounded before
// (ErrorInfo counting omitted violations) ends with a summary to set aside; a
// genuine last violation without a field name (about the request as a whole) is
// kept when the status is bounded for another reason (its message).
func TestBoundKeepsAFieldlessLastViolation(t *testing.T) {
	fvs := []*errdetails.BadRequest_FieldViolation{
		{Field: "resellerId", Description: "must be a GUID"},
		{Description: "the request has no tenant"},
	}
	st := New(Spec{
		Code: codes.InvalidArgument, Message: strings.Repeat("x", 5000), Reason: ReasonInvalidRequest, RequestID: "rid",
		Details: []protoadapt.MessageV1{&errdetails.BadRequest{FieldViolations: fvs}},
	})
	if got := len(st.Message()); got != MaxMessageBytes {
		t.Errorf("message length = %d, want %d (bounded)", got, MaxMessageBytes)
	}
	var got []*errdetails.BadRequest_FieldViolation
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			got = br.GetFieldViolations()
		}
	}
	if len(got) != 2 || got[1].GetField() != "" || got[1].GetDescription() != "the request has no tenant" {
		t.Errorf("field violations = %v, want both, the field-less one last", got)
	}
	if v, ok := InfoOf(st).GetMetadata()[MetaOmittedViolations]; ok {
		t.Errorf("metadata %s = %q, want none", MetaOmittedViolations, v)
	}
}

// TestBoundAgainKeepsTheOmittedCount: a bounded status (20 violations kept,
// "and 480 more") that has to be bounded again for another reason (a message
// grown past MaxMessageBytes) still says how many violations were left out in
// all: the earlier count carries over into the summary and the ErrorInfo
// metadata.
func TestBoundAgainKeepsTheOmittedCount(t *testing.T) {
	once := New(Spec{
		Code: codes.InvalidArgument, Message: "m", Reason: ReasonUpstreamBadRequest, RequestID: "rid",
		Details: []protoadapt.MessageV1{&errdetails.BadRequest{FieldViolations: violations(500, 30)}},
	})
	p := once.Proto()
	p.Message = strings.Repeat("x", 5000)
	again := Bound(status.FromProto(p))
	if got := len(again.Message()); got != MaxMessageBytes {
		t.Errorf("message length = %d, want %d", got, MaxMessageBytes)
	}
	want := strconv.Itoa(500 - MaxFieldViolations)
	if got := InfoOf(again).GetMetadata()[MetaOmittedViolations]; got != want {
		t.Errorf("metadata %s = %q, want %q", MetaOmittedViolations, got, want)
	}
	var fvs []*errdetails.BadRequest_FieldViolation
	for _, d := range again.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			fvs = br.GetFieldViolations()
		}
	}
	if len(fvs) != MaxFieldViolations+1 {
		t.Fatalf("%d field violations, want %d and the summary", len(fvs), MaxFieldViolations)
	}
	if last := fvs[len(fvs)-1]; last.GetField() != "" || last.GetDescription() != "and "+want+" more" {
		t.Errorf("last violation = %v, want the summary %q", last, "and "+want+" more")
	}
}

// TestBoundLastResortKeepsRequestInfoAndCutsTheMessage: a status too large even
// with its detail strings shortened keeps, besides its ErrorInfo, its
// RequestInfo (the correlation id a caller quotes to support), and its message
// is cut to 256 bytes.
func TestBoundLastResortKeepsRequestInfoAndCutsTheMessage(t *testing.T) {
	var details []protoadapt.MessageV1
	for range 50 {
		details = append(details, &errdetails.Help{Links: []*errdetails.Help_Link{{Description: strings.Repeat("h", 100), Url: strings.Repeat("u", 100)}}})
	}
	st := New(Spec{Code: codes.Internal, Message: strings.Repeat("m", 2000), Reason: ReasonUpstreamInternal, RequestID: "rid", Details: details})
	if n := len(st.Message()); n > 256 {
		t.Errorf("message length = %d, want at most 256", n)
	}
	var requestIDs []string
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RequestInfo); ok {
			requestIDs = append(requestIDs, ri.GetRequestId())
		}
	}
	if len(requestIDs) != 1 || requestIDs[0] != "rid" {
		t.Errorf("RequestInfo request ids = %v, want [rid]", requestIDs)
	}
}

// TestBoundDropsViolationsBeforeShorteningThem: field violations too large to
// keep even one are all left out, counted in the summary ("and 2 more"), before
// the last resort shortens detail strings: the violations a caller gets are
// whole, never cut.
func TestBoundDropsViolationsBeforeShorteningThem(t *testing.T) {
	st := New(Spec{
		Code: codes.InvalidArgument, Message: "m", Reason: ReasonUpstreamBadRequest, RequestID: "rid",
		Details: []protoadapt.MessageV1{&errdetails.BadRequest{FieldViolations: violations(2, 5000)}},
	})
	var fvs []*errdetails.BadRequest_FieldViolation
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			fvs = br.GetFieldViolations()
		}
	}
	if len(fvs) != 1 || fvs[0].GetField() != "" || fvs[0].GetDescription() != "and 2 more" {
		t.Errorf("field violations = %v, want only the summary %q", fvs, "and 2 more")
	}
	if got := InfoOf(st).GetMetadata()[MetaOmittedViolations]; got != "2" {
		t.Errorf("metadata %s = %q, want %q", MetaOmittedViolations, got, "2")
	}
}

// TestOmittedViolationsWireName: the ErrorInfo metadata key that counts the
// field violations Bound left out is "omittedViolations" on the wire, as
// docs/errors.md documents it (camelCase, as google.rpc.ErrorInfo asks);
// clients read it by that name, so the constant must not drift.
func TestOmittedViolationsWireName(t *testing.T) {
	st := New(Spec{
		Code: codes.InvalidArgument, Message: "m", Reason: ReasonUpstreamBadRequest, RequestID: "rid",
		Details: []protoadapt.MessageV1{&errdetails.BadRequest{FieldViolations: violations(500, 30)}},
	})
	if got := InfoOf(st).GetMetadata()["omittedViolations"]; got != strconv.Itoa(500-MaxFieldViolations) {
		t.Errorf("ErrorInfo metadata = %v, want omittedViolations %d", InfoOf(st).GetMetadata(), 500-MaxFieldViolations)
	}
}

// TestBoundWithoutErrorInfo: a status with field violations but no ErrorInfo
// (not one New made) is bounded all the same, its summary without metadata.
func TestBoundWithoutErrorInfo(t *testing.T) {
	st, err := status.New(codes.InvalidArgument, "m").WithDetails(&errdetails.BadRequest{FieldViolations: violations(MaxFieldViolations+1, 1)})
	if err != nil {
		t.Fatal(err)
	}
	br, _ := detailOf[errdetails.BadRequest](Bound(st).Proto())
	if fvs := br.GetFieldViolations(); len(fvs) != MaxFieldViolations+1 || fvs[MaxFieldViolations].GetDescription() != "and 1 more" {
		t.Errorf("field violations = %v, want %d and the summary", fvs, MaxFieldViolations)
	}
}
