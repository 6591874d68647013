package rest

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// This file, wire_reseller.go and wire_margins.go decode the upstream's JSON
// into the DTOs with a jsontext token reader written for them, without
// reflection. They decode exactly as encoding/json did with the DTOs' struct
// tags (the former implementation is the oracle of the differential fuzz
// tests in oracle_test.go):
//
//   - object names match field names in any casing, with Unicode simple
//     folding ("ſ", U+017F, matches s; "K", U+212A, matches k);
//   - unknown members are skipped (they must still be valid JSON);
//   - null sets a pointer, slice or map to nil and leaves a struct as it is;
//   - a repeated name decodes again into what the first one filled, so the
//     last scalar wins and objects merge; an array decodes into the elements
//     of the slice already there, past its length too (encoding/json's
//     legacy merge semantics);
//   - invalid UTF-8 in strings, and escaped lone surrogates, become U+FFFD;
//   - a number must fit a float64 (strconv.ParseFloat), and a value of the
//     wrong JSON kind for its field is an error.

// wireOptions make the tokenizer as lenient as encoding/json: duplicate
// names are allowed and invalid UTF-8 is replaced.
var wireOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// maxFieldName bounds the folded member names the readers match; no field
// name is longer.
const maxFieldName = 32

// maxPooledScratch keeps the reader pool from pinning large unquoting
// buffers.
const maxPooledScratch = 16 << 10

// reader reads DTOs from a jsontext.Decoder.
type reader struct {
	dec *jsontext.Decoder
	// inPlace is set when dec reads a *bytes.Buffer holding the whole
	// input: dec then parses the input in place, so the values it returns
	// and its UnreadBuffer stay valid to the end (see wrapperOrRule).
	inPlace bool
	// name holds the folded name of the member being read (see memberName).
	name [maxFieldName]byte
	// scratch is the unquoting buffer (see unquote).
	scratch []byte
	// strs is a block of strings that newString hands out one by one.
	strs []string
}

// stringBlock is how many strings newString allocates at once.
const stringBlock = 16

// newString returns a pointer to a copy of b. The strings of a document come
// from blocks of stringBlock, one allocation instead of one per field; each
// pointer still has its own string, which its holder may change alone.
func (r *reader) newString(b []byte) *string {
	if len(r.strs) == 0 {
		r.strs = make([]string, stringBlock)
	}
	p := &r.strs[0]
	r.strs = r.strs[1:]
	*p = string(b)
	return p
}

// pooledReader is a reader with its own decoder over an in-memory input.
type pooledReader struct {
	reader
	dec jsontext.Decoder
	in  bytes.Buffer
}

var readerPool = sync.Pool{New: func() any {
	p := new(pooledReader)
	p.reader.dec, p.inPlace = &p.dec, true
	return p
}}

// getReader returns a pooled reader of b. The decoder reads b in place (it
// does not copy a *bytes.Buffer), so b must not change until putReader.
func getReader(b []byte) *pooledReader {
	p := readerPool.Get().(*pooledReader)
	p.in = *bytes.NewBuffer(b)
	p.dec.Reset(&p.in, wireOptions...)
	return p
}

// putReader returns p to the pool, keeping no reference to its input.
func putReader(p *pooledReader) {
	p.in = bytes.Buffer{}
	p.dec.Reset(&p.in, wireOptions...)
	if cap(p.scratch) > maxPooledScratch {
		p.scratch = nil
	}
	readerPool.Put(p)
}

// decodeValue decodes b, which must hold exactly one JSON value, into v with
// read. Errors come back as wireSyntaxError or wireTypeError.
func decodeValue[T any](b []byte, v *T, read func(*reader, *T) error) error {
	p := getReader(b)
	defer putReader(p)
	if err := read(&p.reader, v); err != nil {
		return cleanError(err)
	}
	if _, err := p.dec.ReadToken(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errTrailingData
		}
		return cleanError(err)
	}
	return nil
}

var errTrailingData = errors.New("data after the top-level value")

// wireSyntaxError reports JSON that is not well formed. Unlike the
// tokenizer's own error, it never quotes the input (a member name, say).
type wireSyntaxError struct {
	// Offset is the byte offset at or after which the error was found.
	Offset int64
	// Err is the underlying error.
	Err error
}

func (e *wireSyntaxError) Error() string {
	return "invalid JSON at byte " + strconv.FormatInt(e.Offset, 10) + ": " + e.Err.Error()
}

func (e *wireSyntaxError) Unwrap() error { return e.Err }

// wireTypeError reports a JSON value of the wrong kind (or a number out of
// range) for the field at Pointer.
type wireTypeError struct {
	// Pointer locates the value (RFC 6901); it holds only the names of
	// known fields, in the casing the input used, and array indices.
	Pointer string
	// Got is the JSON kind found ("number", "string", ...).
	Got string
	// Want is what the field takes ("a string", "an object", ...).
	Want string
}

func (e *wireTypeError) Error() string {
	return "cannot decode a JSON " + e.Got + " at " + strconv.Quote(e.Pointer) + ": want " + e.Want
}

// cleanError turns the tokenizer's syntactic errors into wireSyntaxError.
func cleanError(err error) error {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		return &wireSyntaxError{Offset: se.ByteOffset, Err: se.Err}
	}
	if errors.Is(err, io.EOF) {
		return &wireSyntaxError{Err: io.ErrUnexpectedEOF}
	}
	return err
}

// mismatch reports that the next value, of kind k, is not what the field
// takes; a zero k is the tokenizer's error, which it returns.
func (r *reader) mismatch(k jsontext.Kind, want string) error {
	if k == 0 {
		_, err := r.dec.ReadValue()
		return err
	}
	return &wireTypeError{Pointer: string(r.dec.StackPointer()), Got: kindName(k), Want: want}
}

// kindName names a JSON kind for wireTypeError.
func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "boolean"
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "value"
}

// more reports whether the object or array being read has another member
// or element. On a syntax error it reports true: the next read returns it.
func (r *reader) more() bool {
	k := r.dec.PeekKind()
	return k != '}' && k != ']'
}

// token reads a delimiter or a literal.
func (r *reader) token() error {
	_, err := r.dec.ReadToken()
	return err
}

// memberName reads an object member's name and returns it folded for the
// lower-case field names the readers switch on: ASCII letters in lower case,
// and "ſ" and "K" (the only other characters whose Unicode simple folding
// includes an ASCII letter) as s and k, so that a name matches a field
// exactly when encoding/json would match them. A name that cannot match any
// field (another non-ASCII character, or longer than any field name) comes
// back empty. The result is valid until the next memberName.
func (r *reader) memberName() ([]byte, error) {
	raw, err := r.dec.ReadValue()
	if err != nil {
		return nil, err
	}
	name := r.unquote(raw)
	if len(name) > len(r.name) {
		return r.foldUnicode(name), nil
	}
	for i, c := range name {
		switch {
		case c >= utf8.RuneSelf:
			return r.foldUnicode(name), nil
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		r.name[i] = c
	}
	return r.name[:len(name)], nil
}

// foldUnicode is memberName's folding for names with non-ASCII characters.
func (r *reader) foldUnicode(name []byte) []byte {
	n := 0
	for i := 0; i < len(name); n++ {
		if n == len(r.name) {
			return nil
		}
		c := name[i]
		switch {
		case c < utf8.RuneSelf:
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			i++
		case bytes.HasPrefix(name[i:], []byte("\u017f")):
			c, i = 's', i+len("\u017f")
		case bytes.HasPrefix(name[i:], []byte("\u212a")):
			c, i = 'k', i+len("\u212a")
		default:
			return nil
		}
		r.name[n] = c
	}
	return r.name[:n]
}

// unquote returns the contents of the JSON string raw, unescaped, with
// invalid UTF-8 and escaped lone surrogates replaced by U+FFFD. The result
// is valid until the next read or unquote.
func (r *reader) unquote(raw jsontext.Value) []byte {
	s := raw[1 : len(raw)-1]
	if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return s
	}
	// The tokenizer has checked the syntax: the only error left to report
	// is invalid UTF-8, which is replaced as wanted.
	r.scratch, _ = jsontext.AppendUnquote(r.scratch[:0], raw)
	return r.scratch
}

// str reads a JSON string or null into *p.
func (r *reader) str(p **string) error {
	switch k := r.dec.PeekKind(); k {
	case 'n':
		*p = nil
		return r.token()
	case '"':
		raw, err := r.dec.ReadValue()
		if err != nil {
			return err
		}
		*p = r.newString(r.unquote(raw))
		return nil
	default:
		return r.mismatch(k, "a string")
	}
}

// float reads a JSON number or null into *p.
func (r *reader) float(p **float64) error {
	switch k := r.dec.PeekKind(); k {
	case 'n':
		*p = nil
		return r.token()
	case '0':
		raw, err := r.dec.ReadValue()
		if err != nil {
			return err
		}
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return &wireTypeError{Pointer: string(r.dec.StackPointer()), Got: "number", Want: "a number that fits a float64"}
		}
		*p = &f
		return nil
	default:
		return r.mismatch(k, "a number")
	}
}

// object reads the object for *p, allocating it when nil (a non-nil one is
// merged into, as encoding/json does); null sets *p to nil.
func object[T any](r *reader, p **T, read func(*reader, *T) error) error {
	switch k := r.dec.PeekKind(); k {
	case 'n':
		*p = nil
		return r.token()
	case '{':
		if *p == nil {
			*p = new(T)
		}
		return read(r, *p)
	default:
		return r.mismatch(k, "an object")
	}
}
