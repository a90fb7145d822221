package ingest

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// withFallbacks adds to mux the answers for requests no endpoint route
// takes, in JSON like every other answer: a known path with another method
// is refused with 405 and the methods allowed; any other path under the
// endpoint (an empty or extra path segment) is answered exactly like a
// wrong token, so the shape of a URL says nothing about what exists.
func withFallbacks(mux *http.ServeMux, path string, log func() *slog.Logger, allowed ...string) {
	allow := strings.Join(allowed, ", ")
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, log().With("method", r.Method), fmt.Errorf("%w: method %.20s; send %s", errMethod, r.Method, allow))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, log().With("method", r.Method), errNoSuchWebhook)
	})
}
