package accessplanit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// APIError is an answer from accessplanit with a status other than 2xx.
type APIError struct {
	Status  int
	Message string
	// Errors lists the validation problems the platform named, if any.
	Errors []string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("accessplanit answered %d", e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if len(e.Errors) > 0 {
		msg += " (" + strings.Join(e.Errors, "; ") + ")"
	}
	return msg
}

// Permanent reports whether retrying cannot help. Throttling (429), timeouts
// (408), early data (425) and server errors (5xx) are transient; every other
// 4xx — validation, a bad or disabled key, a missing User, a conflict — is not.
func (e *APIError) Permanent() bool {
	switch {
	case e.Status == http.StatusTooManyRequests, e.Status == http.StatusRequestTimeout, e.Status == http.StatusTooEarly:
		return false
	case e.Status >= 400 && e.Status < 500:
		return true
	}
	return false
}

// Is makes a 404 match apmc.ErrNotFound.
func (e *APIError) Is(target error) bool {
	return target == apmc.ErrNotFound && e.Status == http.StatusNotFound
}

// newAPIError reads the error body the platform sent.
//
// ASSUMPTION: error bodies are ASP.NET Web API style: {"Message": "...",
// "Errors": [...]} or a ModelState map {"ModelState": {"field": ["..."]}};
// keys may be in any case. Anything else is kept as a short text message.
func newAPIError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err == nil {
		for k, v := range obj {
			switch strings.ToLower(k) {
			case "message", "error_description", "title":
				if e.Message == "" {
					e.Message = textOf(v)
				}
			case "errors", "modelstate":
				e.Errors = append(e.Errors, errorList(v)...)
			}
		}
	} else if text := strings.TrimSpace(string(body)); text != "" && len(text) <= 300 && !strings.HasPrefix(text, "<") {
		e.Message = text
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// errorList flattens an errors section: a list, or a map of field → list.
func errorList(raw json.RawMessage) []string {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err == nil {
		var out []string
		for _, item := range list {
			if s := textOf(item); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err == nil {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []string
		for _, k := range keys {
			for _, msg := range errorList(m[k]) {
				out = append(out, strings.TrimPrefix(k+": ", ": ")+msg)
			}
		}
		return out
	}
	if s := textOf(raw); s != "" {
		return []string{s}
	}
	return nil
}

// textOf renders a JSON value as text (see normalise); an object with a
// message-like key yields that message.
func textOf(raw json.RawMessage) string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err == nil {
		for k, v := range obj {
			if l := strings.ToLower(k); l == "message" || l == "errormessage" {
				return textOf(v)
			}
		}
	}
	s, _ := normalise(raw)
	return s
}

// errNoUser is the error for an ID that names no User.
func errNoUser(id string) error {
	return fmt.Errorf("accessplanit user %s: %w", id, &APIError{Status: http.StatusNotFound, Message: "no such user"})
}
