package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
)

// DecodeAcceptanceLink decodes a GET /v1/Customers/relationship-acceptance
// 200 body into the link: the documented JSON string, or the raw URL an
// ASP.NET server may send as text/plain. A body (trimmed of white space and
// byte order marks) that starts with a double quote is decoded as a JSON
// string; otherwise, when contentType is text/plain or the body starts with
// http:// or https://, the text is the link. Any other body, and a link
// that is not an absolute http(s) URL with a host, fail with a
// KindUndecodable *Error. The link is returned as sent, not re-encoded.
func DecodeAcceptanceLink(contentType string, body []byte) (string, error) {
	b := bytes.TrimRight(trimLeft(body), " \t\r\n")
	if len(b) == 0 {
		return "", undecodable("acceptance link", errEmptyBody)
	}
	var link string
	switch {
	case b[0] == '"':
		if err := json.Unmarshal(b, &link); err != nil {
			return "", undecodable("acceptance link", err)
		}
		link = strings.TrimSpace(link)
	case isTextPlain(contentType) || hasPrefixFold(b, "http://") || hasPrefixFold(b, "https://"):
		link = string(b)
	default:
		return "", undecodable("acceptance link", errors.New("body is neither a JSON string nor a URL"))
	}
	if err := checkLink(link); err != nil {
		return "", undecodable("acceptance link", err)
	}
	return link, nil
}

// checkLink reports why link is not an absolute http(s) URL with a host. The
// messages never repeat the link: it came from the upstream body.
func checkLink(link string) error {
	if strings.ContainsAny(link, " \t\r\n") {
		return errors.New("link contains white space")
	}
	u, err := url.Parse(link)
	if err != nil {
		return errors.New("link is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("link is not an http or https URL")
	}
	if u.Host == "" {
		return errors.New("link has no host")
	}
	return nil
}

// isTextPlain reports whether the media type of a Content-Type value is
// text/plain, ignoring parameters and casing.
func isTextPlain(contentType string) bool {
	mediaType, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mediaType), "text/plain")
}

// hasPrefixFold reports whether b starts with the ASCII prefix in any casing.
func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}
