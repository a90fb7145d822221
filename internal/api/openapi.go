package api

import (
	_ "embed"
	"net/http"
)

// document is the API's OpenAPI 3.1 description: every route, parameter,
// status and body. The tests hold the routes and the running API's answers
// to it, so it cannot drift from the code.
//
//go:embed openapi.json
var document []byte

// public serves the OpenAPI document to anyone, so clients and tools can read
// the API's description before they hold a token, and hands every other
// request to next.
func public(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/openapi.json", serveDocument)
	mux.Handle("/", next)
	return mux
}

func serveDocument(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(document)
}
