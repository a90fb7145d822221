package mailchimp

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// APIError is an error answer from the Mailchimp API. Mailchimp answers
// errors with RFC 9457 problem details (application/problem+json); an answer
// without such a body (a CDN's HTML page, an empty 429) keeps only Status.
type APIError struct {
	Status   int          // HTTP status code
	Type     string       // problem type URI
	Title    string       // e.g. "Invalid Resource", "Member Exists"
	Detail   string       // the explanation for this occurrence
	Instance string       // Mailchimp's id of the occurrence, for support
	Errors   []FieldError // per merge field problems of "Invalid Resource"
	// Problem reports whether the body was a JSON problem document: a bare
	// 403 or 429 without one comes from Mailchimp's edge under load.
	Problem bool
}

// FieldError is one field-level problem of an "Invalid Resource" error.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// parseAPIError reads a non-2xx answer. It is lenient: unknown fields are
// ignored and a body that is not a problem document leaves only the status.
func parseAPIError(status int, contentType string, body []byte) *APIError {
	e := &APIError{Status: status}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "application/problem+json" && mt != "application/json" {
		return e
	}
	var p struct {
		Type     string       `json:"type"`
		Title    string       `json:"title"`
		Status   json.Number  `json:"status"`
		Detail   string       `json:"detail"`
		Instance string       `json:"instance"`
		Errors   []FieldError `json:"errors"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return e
	}
	e.Problem = true
	e.Type, e.Title, e.Detail, e.Instance, e.Errors = p.Type, p.Title, p.Detail, p.Instance, p.Errors
	return e
}

// redact removes the API key from every text of the error, in case an
// answer ever echoes it.
func (e *APIError) redact(key string) {
	r := strings.NewReplacer(key, "[redacted]")
	e.Type, e.Title, e.Detail, e.Instance = r.Replace(e.Type), r.Replace(e.Title), r.Replace(e.Detail), r.Replace(e.Instance)
	for i := range e.Errors {
		e.Errors[i].Field, e.Errors[i].Message = r.Replace(e.Errors[i].Field), r.Replace(e.Errors[i].Message)
	}
}

// Error is one line: status, title, detail and any field-level messages.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mailchimp: %d", e.Status)
	title := e.Title
	if title == "" {
		title = http.StatusText(e.Status)
	}
	if title != "" {
		b.WriteString(" " + title)
	}
	if !e.Problem {
		b.WriteString(" (no problem details in the answer)")
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if len(e.Errors) > 0 {
		parts := make([]string, 0, len(e.Errors))
		for _, f := range e.Errors {
			if f.Field == "" {
				parts = append(parts, f.Message)
				continue
			}
			parts = append(parts, f.Field+": "+f.Message)
		}
		b.WriteString(" [" + strings.Join(parts, "; ") + "]")
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(b.String(), "\n", " ")), " ")
}

// Permanent reports whether no retry can fix the error (see the contracts
// README): a 400 (invalid resource, member in compliance state, member
// exists, …), a 404, or a 401/403 that Mailchimp itself answered with a
// problem document (a bad key). 429, 5xx (HTML 502s included), a 403/429
// without a problem document, and anything unrecognised are transient, so
// they are retried rather than lost.
func (e *APIError) Permanent() bool {
	switch {
	case e.Status == http.StatusTooManyRequests, e.Status == http.StatusRequestTimeout, e.Status >= 500:
		return false
	case e.Status == http.StatusBadRequest, e.Status == http.StatusNotFound:
		return true
	case e.Status == http.StatusUnauthorized, e.Status == http.StatusForbidden:
		return e.Problem
	case e.Status >= 400:
		return e.Problem
	}
	return false
}

// Is lets errors.Is(err, apmc.ErrNotFound) recognise a 404.
func (e *APIError) Is(target error) bool {
	return target == apmc.ErrNotFound && e.Status == http.StatusNotFound
}
