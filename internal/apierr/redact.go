package apierr

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"google.golang.org/protobuf/reflect/protopath"
	"google.golang.org/protobuf/reflect/protorange"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Redacted stands wherever a piece of the caller's token was removed.
const Redacted = "[REDACTED]"

// MinSecretRun is the shortest run of a token's characters that Redactor
// removes. A token shorter than this is not matched at all.
const MinSecretRun = 8

// Redactor packs a window of MinSecretRun bytes into a uint64: this fails to
// compile unless MinSecretRun is 8.
const _ = uint8(MinSecretRun-8) + uint8(8-MinSecretRun)

// Redactor removes every piece of one bearer token from text, as
// docs/security.md#tokens describes: each run of MinSecretRun or more of its
// characters, in any letter case, becomes Redacted (overlapping or adjacent
// runs a single one), and a piece left in an encoded form makes the whole
// text Redacted. The zero value removes nothing.
type Redactor struct {
	lower []byte // the token, its ASCII letters lower-cased; nil: nothing to match
	// filter has bit filterHash(w) set for each MinSecretRun-byte window w of lower: a
	// window of the text whose bit is clear is no piece of the token, and lower is not searched.
	filter *[filterBits / 64]uint64
}

// filterShift is the bits of a filterHash, and filterBits the size of
// Redactor.filter: for a 2 KiB token about one bit in eight is set.
const (
	filterShift = 14
	filterBits  = 1 << filterShift
)

// NewRedactor returns the Redactor of the token in an `authorization` value:
// what follows the scheme ("Bearer "), or the whole value when it has no
// scheme.
func NewRedactor(authorization string) Redactor {
	token := strings.TrimSpace(authorization)
	if scheme, rest, ok := strings.Cut(token, " "); ok && strings.EqualFold(scheme, "bearer") {
		token = strings.TrimSpace(rest)
	}
	if len(token) < MinSecretRun {
		return Redactor{}
	}
	r := Redactor{lower: make([]byte, len(token)), filter: new([filterBits / 64]uint64)}
	var x uint64 // the window ending at i, packed: its bytes, the last lowest
	for i := 0; i < len(token); i++ {
		r.lower[i] = lowerASCII(token[i])
		x = x<<8 | uint64(r.lower[i])
		if h := filterHash(x); i >= MinSecretRun-1 {
			r.filter[h/64] |= 1 << (h % 64)
		}
	}
	return r
}

// String returns s with every piece of the token replaced by Redacted, or
// Redacted alone when a piece remains in an encoded form.
func (r Redactor) String(s string) string {
	if r.lower == nil || len(s) < MinSecretRun {
		return s
	}
	s = r.replace(s)
	if r.encoded(s) {
		return Redacted
	}
	return s
}

// replace replaces every piece of the token in s, as it is, by Redacted.
func (r Redactor) replace(s string) string {
	var b strings.Builder
	copied, end := 0, -1 // s[:copied] is written to b; the last piece ends at end
	var x uint64         // the window ending at i, packed (see NewRedactor)
	for i := 0; i < len(s); i++ {
		x = x<<8 | uint64(lowerASCII(s[i]))
		start := i + 1 - MinSecretRun
		if start < 0 || !r.piece(x) {
			continue
		}
		if start > end { // apart from the last piece: a new one
			b.WriteString(s[copied:start])
			b.WriteString(Redacted)
		}
		copied, end = i+1, i+1
	}
	if copied == 0 {
		return s
	}
	b.WriteString(s[copied:])
	return b.String()
}

// contains reports whether b holds a piece of the token, in any letter case.
func (r Redactor) contains(b []byte) bool {
	var x uint64
	for i, c := range b {
		x = x<<8 | uint64(lowerASCII(c))
		if i >= MinSecretRun-1 && r.piece(x) {
			return true
		}
	}
	return false
}

// unescapeRounds bounds how many layers of escapes encoded looks through
// (%2525..., &amp;#...).
const unescapeRounds = 3

// encoded reports whether s holds a piece of the token once unescaped, or in
// a decoded run of base64 or hexadecimal digits (inRuns).
func (r Redactor) encoded(s string) bool {
	for range unescapeRounds {
		if r.inRuns(s) {
			return true
		}
		// Invisible characters alone, before any escape is decoded: an
		// escape may take the token's first character (%b0...).
		if v := stripFormat(s); v != s && r.contains([]byte(v)) {
			return true
		}
		u := unescape(s)
		if u == s {
			return false
		}
		if r.contains([]byte(u)) {
			return true
		}
		s = u
	}
	return r.inRuns(s)
}

// escapes are the escapes unescape decodes: percent-encoding, `\uXXXX`,
// `\xNN` and HTML character references (named, decimal, hex).
var escapes = regexp.MustCompile(`%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}|&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);?`)

// unescape decodes one layer of escapes (see escapes), left to right, then
// strips format characters (stripFormat). Malformed escapes stay as they are.
func unescape(s string) string {
	if strings.ContainsAny(s, `%\&`) {
		s = escapes.ReplaceAllStringFunc(s, func(m string) string {
			switch m[0] {
			case '&':
				return html.UnescapeString(m)
			case '%':
				m = `\x` + m[1:]
			}
			if u, err := strconv.Unquote(`"` + m + `"`); err == nil {
				return u
			}
			return m
		})
	}
	return stripFormat(s)
}

// stripFormat drops the invisible format characters (Unicode category Cf:
// zero-width spaces and joiners, U+2060, U+FEFF, the soft hyphen...).
func stripFormat(s string) string {
	return strings.Map(func(c rune) rune {
		if unicode.Is(unicode.Cf, c) {
			return -1
		}
		return c
	}, s)
}

// inRuns reports whether a run of base64 or hexadecimal digits in s decodes,
// at one of its alignments, to bytes that hold a piece of the token.
func (r Redactor) inRuns(s string) bool {
	// The shortest runs that can hold MinSecretRun bytes.
	const minBase64, minHex = (MinSecretRun*4 + 2) / 3, 2 * MinSecretRun
	for run := range strings.FieldsFuncSeq(s, notBase64) {
		if len(run) < minBase64 {
			continue
		}
		run = urlToStd.Replace(run)
		for i := range 4 {
			n := len(run) - i
			if n%4 == 1 {
				n-- // one digit encodes no whole byte
			}
			if b, err := base64.RawStdEncoding.DecodeString(run[i : i+n]); err == nil && r.contains(b) {
				return true
			}
		}
	}
	for run := range strings.FieldsFuncSeq(s, notHex) {
		for i := 0; len(run) >= minHex && i < 2; i++ {
			if b, err := hex.DecodeString(run[i : i+(len(run)-i)&^1]); err == nil && r.contains(b) {
				return true
			}
		}
	}
	return false
}

var urlToStd = strings.NewReplacer("-", "+", "_", "/")

// notBase64 reports whether c is outside both base64 alphabets (padding
// ends a run).
func notBase64(c rune) bool {
	return !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_')
}

func notHex(c rune) bool {
	return !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F')
}

// piece reports whether the packed window x is a run of the token's
// characters, in any letter case.
func (r Redactor) piece(x uint64) bool {
	h := filterHash(x)
	if r.filter[h/64]&(1<<(h%64)) == 0 {
		return false
	}
	var w [MinSecretRun]byte
	binary.BigEndian.PutUint64(w[:], x)
	return bytes.Contains(r.lower, w[:])
}

// rewriteStrings replaces every string in m (fields, list elements, map
// values, nested messages) by f of it. Map keys are left alone: the
// details' keys are the facade's own vocabulary. The strings are collected
// first and replaced after the walk, which must not see m change.
func rewriteStrings(m protoreflect.Message, f func(string) string) {
	var edits []func()
	noAny := protorange.Options{Resolver: (*protoregistry.Types)(nil)} // an Any's value stays as it is
	_ = noAny.Range(m, func(p protopath.Values) error {
		last, parent := p.Index(-1), p.Index(-2).Value
		s, ok := last.Value.Interface().(string)
		if !ok {
			return nil
		}
		v := protoreflect.ValueOfString(f(s))
		switch step := last.Step; step.Kind() {
		case protopath.FieldAccessStep:
			edits = append(edits, func() { parent.Message().Set(step.FieldDescriptor(), v) })
		case protopath.ListIndexStep:
			edits = append(edits, func() { parent.List().Set(step.ListIndex(), v) })
		case protopath.MapIndexStep:
			edits = append(edits, func() { parent.Map().Set(step.MapIndex(), v) })
		}
		return nil
	}, nil)
	for _, edit := range edits {
		edit()
	}
}

// filterHash maps a packed window to a bit of Redactor.filter (multiplicative hashing).
func filterHash(x uint64) uint64 { return (x * 0x9E3779B97F4A7C15) >> (64 - filterShift) }

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
