package mailchimp

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// errorDocsURL is the "type" Mailchimp puts in every problem document.
const errorDocsURL = "https://mailchimp.com/developer/marketing/docs/errors/"

// FieldError is one entry of the "errors" array Mailchimp adds to an
// "Invalid Resource" problem.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// problem is an RFC 9457 problem document as Mailchimp sends it
// (the published schema calls it AccountExports).
type problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail"`
	Instance string       `json:"instance"`
	Errors   []FieldError `json:"errors,omitempty"`
}

// apiError is an error a handler answers with; it carries everything the
// problem document needs.
type apiError struct {
	status int
	title  string
	detail string
	fields []FieldError
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.title, e.detail) }

// The texts below are Mailchimp's own titles and, where known, its details.
const detailInvalidResource = "The resource submitted could not be validated. For field-specific details, see the 'errors' array."

func errNotFound() *apiError {
	return &apiError{status: http.StatusNotFound, title: "Resource Not Found", detail: "The requested resource could not be found."}
}

func errUnauthorized() *apiError {
	return &apiError{status: http.StatusUnauthorized, title: "API Key Invalid", detail: "Your API key may be invalid, or you've attempted to access the wrong datacenter."}
}

func errTooManyRequests() *apiError {
	return &apiError{status: http.StatusTooManyRequests, title: "Too Many Requests", detail: fmt.Sprintf("You have exceeded the limit of %d simultaneous connections.", maxInFlight)}
}

func errMethodNotAllowed() *apiError {
	return &apiError{status: http.StatusMethodNotAllowed, title: "Method Not Allowed", detail: "The requested method and resource are not compatible. See the Allow header for this resource's available methods."}
}

func errJSONParse() *apiError {
	return &apiError{status: http.StatusBadRequest, title: "JSON Parse Exception", detail: "We encountered an unspecified JSON parsing error."}
}

func errInvalid(fields ...FieldError) *apiError {
	return &apiError{status: http.StatusBadRequest, title: "Invalid Resource", detail: detailInvalidResource, fields: fields}
}

func errFakeEmail(email string) *apiError {
	return &apiError{status: http.StatusBadRequest, title: "Invalid Resource", detail: fmt.Sprintf("%s looks fake or invalid, please enter a real email address.", email)}
}

func errMemberExists(email string) *apiError {
	return &apiError{status: http.StatusBadRequest, title: "Member Exists", detail: fmt.Sprintf("%s is already a list member. Use PUT to insert or update list members.", email)}
}

func errComplianceState(email string) *apiError {
	return &apiError{status: http.StatusBadRequest, title: "Member In Compliance State", detail: fmt.Sprintf("%s is already a list member in compliance state due to unsubscribe, bounce, or compliance review.", email)}
}

func errForgotten(email string) *apiError {
	return &apiError{status: http.StatusBadRequest, title: "Forgotten Email Not Subscribed", detail: fmt.Sprintf("%s was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.", email)}
}

// writeProblem answers with e as application/problem+json.
func writeProblem(w http.ResponseWriter, e *apiError) {
	p := problem{
		Type:     errorDocsURL,
		Title:    e.title,
		Status:   e.status,
		Detail:   e.detail,
		Instance: newUUID(),
		Errors:   e.fields,
	}
	body, err := json.Marshal(p)
	if err != nil {
		http.Error(w, "encode problem", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

// writeJSON answers 200 with v as application/json.
func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, &apiError{status: http.StatusInternalServerError, title: "Internal Server Error", detail: "could not encode the response"})
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
