package mailchimp

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	validationerrors "github.com/pb33f/libopenapi-validator/errors"
)

// contractFile is the contract document, relative to the shared directory.
const contractFile = "contracts/mailchimp/openapi-subset.json"

// sharedDir finds the project's shared directory: $APMC_SHARED_DIR, or a
// "shared" directory beside one of this package's ancestors.
func sharedDir() (string, bool) {
	if d := os.Getenv("APMC_SHARED_DIR"); d != "" {
		return d, true
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		candidate := filepath.Join(dir, "shared")
		if _, err := os.Stat(filepath.Join(candidate, contractFile)); err == nil {
			return candidate, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

var (
	contractOnce sync.Once
	contractV    validator.Validator
	contractErr  string
)

// contractValidator returns a validator for the contract document, or
// skips t when the document is absent.
//
// The document's paths carry the /3.0 prefix while its server URLs
// (https://{dc}.api.mailchimp.com) carry no base path. The validator strips
// a server's base path before matching, so the two line up exactly when the
// request path keeps its /3.0 prefix, which is how the simulator serves it
// (a client's base URL is http://127.0.0.1:PORT/3.0). Nothing is rewritten.
func contractValidator(t *testing.T) validator.Validator {
	t.Helper()
	v := loadContract()
	if v == nil {
		t.Skip(contractErr)
	}
	return v
}

// loadContract builds the validator once; nil means contractErr says why.
func loadContract() validator.Validator {
	contractOnce.Do(func() {
		dir, ok := sharedDir()
		if !ok {
			contractErr = "contract document absent: set APMC_SHARED_DIR or keep the shared directory beside the repository"
			return
		}
		spec, err := os.ReadFile(filepath.Join(dir, contractFile))
		if err != nil {
			contractErr = "read contract document: " + err.Error()
			return
		}
		doc, err := libopenapi.NewDocument(spec)
		if err != nil {
			contractErr = "parse contract document: " + err.Error()
			return
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			contractErr = "build validator: " + errs[0].Error()
			return
		}
		contractV = v
	})
	return contractV
}

// contractResponseValidator returns a check holding every JSON answer on a
// contract path to the document, or nil when the document is absent (the
// contract test itself then says why it skipped).
func contractResponseValidator() func(*testing.T, *http.Request, []byte, *http.Response, []byte) {
	v := loadContract()
	if v == nil {
		return nil
	}
	return func(t *testing.T, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
		t.Helper()
		if !onContractPath(req) {
			return
		}
		checkResponse(t, v, req, reqBody, resp, respBody)
	}
}

// onContractPath reports whether req is an operation of the subset.
func onContractPath(req *http.Request) bool {
	p := strings.TrimPrefix(req.URL.Path, "/3.0")
	parts := strings.Split(strings.Trim(p, "/"), "/")
	var shape string
	switch {
	case p == "/ping" || p == "/lists":
		shape = p
	case len(parts) == 2 && parts[0] == "lists":
		shape = "/lists/{id}"
	case len(parts) == 3 && parts[0] == "lists":
		shape = "/lists/{id}/" + parts[2]
	case len(parts) == 4 && parts[0] == "lists" && parts[2] == "members":
		shape = "/lists/{id}/members/{hash}"
	}
	methods := map[string]string{
		"/ping":                      "GET",
		"/lists":                     "GET",
		"/lists/{id}":                "GET POST",
		"/lists/{id}/merge-fields":   "GET",
		"/lists/{id}/webhooks":       "GET POST",
		"/lists/{id}/members/{hash}": "GET PUT PATCH",
	}[shape]
	return methods != "" && strings.Contains(methods, req.Method)
}

// checkResponse validates one answer against the document.
func checkResponse(t *testing.T, v validator.Validator, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	t.Helper()
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	copyResp := *resp
	copyResp.Body = io.NopCloser(bytes.NewReader(respBody))
	if ok, errs := v.ValidateHttpResponse(r, &copyResp); !ok {
		for _, e := range errs {
			t.Errorf("contract: %s %s → %d: %s", req.Method, req.URL.Path, resp.StatusCode, describeValidation(e))
		}
	}
}

// describeValidation renders a validation error with its schema failures.
func describeValidation(e *validationerrors.ValidationError) string {
	var b strings.Builder
	b.WriteString(e.Message + ": " + e.Reason)
	for _, f := range e.SchemaValidationErrors {
		b.WriteString("; " + f.FieldPath + ": " + f.Reason)
	}
	return b.String()
}
