package api_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// openAPI is the API's OpenAPI document, parsed, with its validators.
type openAPI struct {
	raw   []byte
	model *v3.Document
	// v validates answers; its schemas forbid undeclared properties
	// themselves, and free-form objects (a step's output) stay free.
	v validator.Validator
	// requests validates requests in strict mode, which also refuses
	// undeclared query parameters.
	requests validator.Validator
}

// loadOpenAPI parses openapi.json and builds its validators, both asserting
// formats (date-time, email).
func loadOpenAPI(t *testing.T) openAPI {
	t.Helper()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatalf("libopenapi.NewDocument(openapi.json) error = %v", err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("BuildV3Model() error = %v", err)
	}
	v, errs := validator.NewValidator(doc, config.WithFormatAssertions())
	if len(errs) > 0 {
		t.Fatalf("validator.NewValidator() errors = %v", errs)
	}
	requests, errs := validator.NewValidator(doc, config.WithFormatAssertions(), config.WithStrictMode())
	if len(errs) > 0 {
		t.Fatalf("validator.NewValidator(strict) errors = %v", errs)
	}
	return openAPI{raw: raw, model: &model.Model, v: v, requests: requests}
}

// operations returns the document's operations as "METHOD /path".
func (d openAPI) operations() []string {
	var out []string
	for path, item := range d.model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().KeysFromOldest() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// operation returns the documented operation, or nil.
func (d openAPI) operation(route string) *v3.Operation {
	method, path, _ := strings.Cut(route, " ")
	item, ok := d.model.Paths.PathItems.Get(path)
	if !ok {
		return nil
	}
	op, _ := item.GetOperations().Get(strings.ToLower(method))
	return op
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	d := loadOpenAPI(t)
	if d.model.Version != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", d.model.Version)
	}
	if ok, errs := d.v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("openapi.json is not a valid OpenAPI 3.1 document: %s (%s)", e.Message, e.Reason)
		}
	}
	for _, route := range d.operations() {
		op := d.operation(route)
		if op.OperationId == "" || op.Summary == "" {
			t.Errorf("%s has no operationId or summary", route)
		}
		if op.Responses == nil || op.Responses.Codes.Len() == 0 {
			t.Errorf("%s documents no response", route)
		}
	}
}

// servedRoutes returns the method patterns the package registers on its
// muxes ("GET /api/instances"), read from its source, so a route added
// anywhere in the package is seen without the API keeping a list for tests.
// A route registered with a pattern that is not a string literal fails the
// test: it could not be checked. Catch-alls (no method, ending in /) hand
// requests on and are not routes.
func servedRoutes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: a route registered with a pattern that is not a string literal cannot be checked against the document", fset.Position(call.Pos()))
				return true
			}
			pattern, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
			}
			method, path, hasMethod := strings.Cut(pattern, " ")
			switch {
			case !hasMethod && strings.HasSuffix(pattern, "/"):
				// A catch-all: the unknown-route answer, or the hand-over to the authenticated routes.
			case !hasMethod:
				t.Errorf("%s: route %q names no method", fset.Position(lit.Pos()), pattern)
			default:
				out = append(out, method+" "+strings.TrimSpace(path))
			}
			return true
		})
	}
	slices.Sort(out)
	return out
}

// TestEveryRouteIsDocumented holds the routes the package registers and the
// document's operations to each other, both ways.
func TestEveryRouteIsDocumented(t *testing.T) {
	d := loadOpenAPI(t)
	served := servedRoutes(t)
	if len(served) < 10 {
		t.Fatalf("found %d routes in the package source (%v); the search for registrations is broken", len(served), served)
	}
	if diff := cmp.Diff(served, d.operations()); diff != "" {
		t.Errorf("routes served (-) and documented (+) differ:\n%s", diff)
	}
}

// exchange is one request to the running API and its answer, both
// re-readable for validation.
type exchange struct {
	req  *http.Request
	res  *http.Response
	body []byte
}

// send makes a request to the running API; auth is the Authorization header
// ("" for none).
func send(t *testing.T, client *http.Client, method, url, auth string) exchange {
	t.Helper()
	return sendBody(t, client, method, url, auth, "")
}

// sendBody is send with a JSON body ("" for none).
func sendBody(t *testing.T, client *http.Client, method, url, auth, content string) exchange {
	t.Helper()
	var sent io.Reader
	if content != "" {
		sent = strings.NewReader(content)
	}
	req, err := http.NewRequest(method, url, sent)
	if err != nil {
		t.Fatalf("NewRequest(%s %s) error = %v", method, url, err)
	}
	if content != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s error = %v", method, url, err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	req.Body = io.NopCloser(strings.NewReader(content)) // re-readable for validation
	return exchange{req: req, res: res, body: body}
}

// short returns the start of the answer's body, for messages.
func (x exchange) short() string {
	if len(x.body) > 300 {
		return string(x.body[:300]) + "…"
	}
	return string(x.body)
}

// checkAnswer validates the answer against the document: its status must be
// one the operation documents, and its headers and body must match.
func (d openAPI) checkAnswer(t *testing.T, route string, x exchange) {
	t.Helper()
	op := d.operation(route)
	if op == nil {
		t.Fatalf("%s is not documented", route)
	}
	if _, ok := op.Responses.Codes.Get(strconv.Itoa(x.res.StatusCode)); !ok {
		t.Errorf("%s %s answered %d %s, a status %s does not document", x.req.Method, x.req.URL, x.res.StatusCode, x.short(), route)
	}
	x.res.Body = io.NopCloser(bytes.NewReader(x.body))
	if ok, errs := d.v.ValidateHttpResponse(x.req, x.res); !ok {
		for _, e := range errs {
			t.Errorf("%s %s answered %d %s: not as documented: %s (%s)", x.req.Method, x.req.URL, x.res.StatusCode, x.short(), e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  at %s: %s", se.FieldPath, se.Reason)
			}
		}
	}
}

// checkRequest holds the validator's verdict on a request to what the test
// expects of it: the documented requests pass, the others (a missing token,
// a bad or unknown parameter) fail.
func (d openAPI) checkRequest(t *testing.T, x exchange, wantValid bool) {
	t.Helper()
	req := x.req.Clone(x.req.Context())
	ok, errs := d.requests.ValidateHttpRequestSync(req)
	if ok != wantValid {
		var msgs []string
		for _, e := range errs {
			msgs = append(msgs, e.Message)
		}
		t.Errorf("ValidateHttpRequestSync(%s %s) = %v %v, want %v", req.Method, req.URL, ok, msgs, wantValid)
	}
}
