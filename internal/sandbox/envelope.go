package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
)

// envelope is the upstream's error body, field for field and in the same order.
type envelope struct {
	StatusCode    int          `json:"statusCode"`
	Type          string       `json:"type"`
	Description   string       `json:"description"`
	CorrelationID string       `json:"correlationId"`
	Errors        []fieldError `json:"errors"`
}

// fieldError is one entry of an envelope's errors list.
type fieldError struct {
	PropertyName string   `json:"propertyName"`
	Description  []string `json:"description"`
}

// Envelope types, as the upstream names its error scenarios.
const (
	typeValidation       = "ValidationError"
	typeNotFound         = "NotFound"
	typeMethodNotAllowed = "MethodNotAllowed"
)

// writeEnvelope answers with an error envelope; errs may be nil (serialised as null).
func writeEnvelope(w http.ResponseWriter, code int, typ, description, correlationID string, errs []fieldError) {
	body, err := json.Marshal(envelope{
		StatusCode:    code,
		Type:          typ,
		Description:   description,
		CorrelationID: correlationID,
		Errors:        errs,
	})
	if err != nil { // only strings and ints: cannot fail
		panic(err)
	}
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body) // the client has gone if this fails; nothing to do
}

// newCorrelationID returns a random (version 4) UUID, for requests that bring none.
func newCorrelationID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
