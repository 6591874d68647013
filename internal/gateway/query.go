package gateway

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Bounds on what a query error echoes back.
const (
	maxViolations = 16 // violations listed in one error
	maxNameLen    = 64 // bytes of a caller's parameter name quoted in an error

	// maxBodyBytes bounds what is read of a request body; the connection is
	// closed after a longer one.
	maxBodyBytes = 64 << 10
)

// route is one HTTP binding of an RPC and the query parameters it accepts.
//
// grpc-gateway's own query parser silently ignores a parameter that names no
// field, so a misspelled `resellerID` would produce a link for the CSP instead
// of the reseller. The mirror checks the query first (checkQuery): a
// parameter must be a field of the request message that is not bound to the
// path or body, spelled as its proto name or its JSON name (case-sensitive),
// and a singular field may be given once, under one spelling. Fields of
// message type cannot be set from the query and are not accepted.
type route struct {
	method    string // HTTP method
	display   string // the path template with JSON names: /v1/Resellers/{resellerId}
	operation string // the RPC's short name, for ErrorInfo metadata
	// input is the RPC's request message.
	input protoreflect.MessageDescriptor
	// params maps each accepted spelling to its field.
	params map[string]protoreflect.FieldDescriptor
	// accepts describes params for error messages.
	accepts string
}

// pathVar matches a variable of a path template: {name} or {name=pattern}.
var pathVar = regexp.MustCompile(`\{([^}=]+)(=[^}]*)?\}`)

// buildRoutes reads the google.api.http rules of the services' methods and
// returns their routes keyed by "METHOD pattern", where pattern is how
// runtime.Pattern.String() prints the template.
func buildRoutes(services []protoreflect.ServiceDescriptor) (map[string]*route, error) {
	routes := map[string]*route{}
	for _, sd := range services {
		for i := range sd.Methods().Len() {
			md := sd.Methods().Get(i)
			rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
			if rule == nil {
				continue
			}
			for _, b := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
				rt, key, err := newRoute(md, b)
				if err != nil {
					return nil, err
				}
				routes[key] = rt
			}
		}
	}
	return routes, nil
}

// newRoute builds the route of one binding and its key.
func newRoute(md protoreflect.MethodDescriptor, b *annotations.HttpRule) (*route, string, error) {
	var method, tmpl string
	switch p := b.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		method, tmpl = http.MethodGet, p.Get
	case *annotations.HttpRule_Put:
		method, tmpl = http.MethodPut, p.Put
	case *annotations.HttpRule_Post:
		method, tmpl = http.MethodPost, p.Post
	case *annotations.HttpRule_Delete:
		method, tmpl = http.MethodDelete, p.Delete
	case *annotations.HttpRule_Patch:
		method, tmpl = http.MethodPatch, p.Patch
	case *annotations.HttpRule_Custom:
		method, tmpl = p.Custom.GetKind(), p.Custom.GetPath()
	default:
		return nil, "", fmt.Errorf("gateway: %s has an HTTP rule without a pattern", md.FullName())
	}
	in := md.Input()
	bound := map[protoreflect.Name]bool{}
	for _, m := range pathVar.FindAllStringSubmatch(tmpl, -1) {
		top, _, _ := strings.Cut(m[1], ".")
		bound[protoreflect.Name(top)] = true
	}
	if body := b.GetBody(); body != "" && body != "*" {
		bound[protoreflect.Name(body)] = true
	}
	rt := &route{
		method:    method,
		operation: string(md.Name()),
		input:     in,
		params:    map[string]protoreflect.FieldDescriptor{},
		display: pathVar.ReplaceAllStringFunc(tmpl, func(v string) string {
			name := pathVar.FindStringSubmatch(v)[1]
			if f := in.Fields().ByName(protoreflect.Name(name)); f != nil {
				return "{" + f.JSONName() + "}"
			}
			return v
		}),
	}
	var accepts []string
	if b.GetBody() != "*" {
		for i := range in.Fields().Len() {
			f := in.Fields().Get(i)
			if bound[f.Name()] || f.IsMap() || f.Kind() == protoreflect.MessageKind || f.Kind() == protoreflect.GroupKind {
				continue
			}
			rt.params[f.TextName()] = f
			rt.params[f.JSONName()] = f
			if f.JSONName() != f.TextName() {
				accepts = append(accepts, f.JSONName()+" (or "+f.TextName()+")")
			} else {
				accepts = append(accepts, f.JSONName())
			}
		}
	}
	switch len(accepts) {
	case 0:
		rt.accepts = rt.operation + " takes no query parameters"
	case 1:
		rt.accepts = rt.operation + " accepts only " + accepts[0]
	default:
		rt.accepts = rt.operation + " accepts only " + strings.Join(accepts[:len(accepts)-1], ", ") + " and " + accepts[len(accepts)-1]
	}
	rt.accepts += ", case-sensitively"
	key := method + " " + pathVar.ReplaceAllStringFunc(tmpl, func(v string) string {
		if m := pathVar.FindStringSubmatch(v); m[2] == "" {
			return "{" + m[1] + "=*}"
		}
		return v
	})
	return rt, key, nil
}

// check returns what is wrong with a raw query for rt: unknown names,
// repeated singular parameters, two spellings of one field, a malformed
// query. It returns nil for a good query.
func (rt *route) check(raw string) []*errdetails.BadRequest_FieldViolation {
	values, err := url.ParseQuery(raw)
	if err != nil {
		return []*errdetails.BadRequest_FieldViolation{{
			Field:       "query",
			Description: "malformed query string: " + quote(err.Error()),
		}}
	}
	var fvs []*errdetails.BadRequest_FieldViolation
	add := func(name, desc string) {
		if len(fvs) < maxViolations {
			fvs = append(fvs, &errdetails.BadRequest_FieldViolation{Field: quote(name), Description: desc})
		}
	}
	spelling := map[protoreflect.Name]string{}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		f, ok := rt.params[name]
		switch {
		case !ok:
			add(name, "unknown query parameter: "+rt.accepts)
			continue
		case len(values[name]) > 1 && !f.IsList():
			add(name, "sent "+strconv.Itoa(len(values[name]))+" times: send it once")
		}
		if other, dup := spelling[f.Name()]; dup {
			add(name, "names the same field as "+other+": send one of them")
			continue
		}
		spelling[f.Name()] = name
	}
	return fvs
}

// checkQuery is the mux middleware that rejects a bad query with 400 before
// the generated handler parses it and calls the service: no upstream request
// is made for it. It also bounds the request body, which no route reads but
// the generated handlers drain.
func (g *gateway) checkQuery(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, pathParams map[string]string) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		if badAuth, fvs := headerProblems(r.Header); badAuth || len(fvs) > 0 {
			g.rejectHeaders(w, r, badAuth, fvs)
			return
		}
		if r.URL.RawQuery != "" {
			if pat, ok := runtime.HTTPPattern(r.Context()); ok {
				if rt := g.routes[r.Method+" "+pat.String()]; rt != nil {
					if fvs := rt.check(r.URL.RawQuery); len(fvs) > 0 {
						g.rejectQuery(w, r, rt, fvs)
						return
					}
				}
			}
		}
		next(w, r, pathParams)
	}
}

// quote bounds a caller-supplied name before it is echoed in an error.
func quote(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > maxNameLen {
		n := maxNameLen
		for n > 0 && !utf8.RuneStart(s[n]) {
			n-- // cut at a character boundary, never inside one
		}
		s = s[:n] + "…"
	}
	return s
}
