package api

import (
	"net/http"
	"strconv"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// getExecution serves one execution in detail (ops.Detail): steps, logs
// (only the error lines with errors_only=true), error, attempt, the
// original it links to, and its retries and replays.
func (a *server) getExecution(w http.ResponseWriter, r *http.Request) {
	if err := onlyParams(r.URL.Query(), []string{"errors_only"}); err != nil {
		writeError(w, a.log(), err)
		return
	}
	errorsOnly := false
	if s := r.URL.Query().Get("errors_only"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			writeError(w, a.log(), apmc.Invalidf("errors_only must be true or false"))
			return
		}
		errorsOnly = b
	}
	d, err := a.cfg.Ops.Detail(r.Context(), r.PathValue("id"), r.PathValue("eid"), errorsOnly)
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}
