package sandbox

import (
	"encoding/json"
	"net/http"
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
	body, _ := json.Marshal(envelope{ // only strings and ints: cannot fail
		StatusCode:    code,
		Type:          typ,
		Description:   description,
		CorrelationID: correlationID,
		Errors:        errs,
	})
	write(w, code, contentTypeJSON, body)
}
