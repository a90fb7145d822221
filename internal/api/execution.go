package api

import (
	"net/http"
	"strconv"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// Detail is one execution with its links: the original it retried or
// replayed, and the retries and replays of it.
type Detail struct {
	apmc.Execution
	// Related lists the retries and replays of the execution, oldest
	// first; empty when the API runs without operations.
	Related []Link `json:"related"`
}

// Link points at another execution.
type Link struct {
	ID     string      `json:"id"`
	Origin apmc.Origin `json:"origin"`
	Status apmc.Status `json:"status"`
}

// getExecution serves one execution in detail: steps, logs (only the
// error lines with errors_only=true), error, attempt, the original it links
// to, and, when operations are configured, its retries and replays.
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
	e, err := a.cfg.Ops.Executions.Execution(r.Context(), r.PathValue("id"), r.PathValue("eid"))
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	d := Detail{Execution: FilterLogs(e, errorsOnly), Related: []Link{}}
	related, err := a.cfg.Ops.Related(r.Context(), e)
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	for _, x := range related {
		d.Related = append(d.Related, Link{ID: x.ID, Origin: x.Origin, Status: x.Status})
	}
	writeJSON(w, http.StatusOK, d)
}

// FilterLogs keeps only error lines when errorsOnly is set.
func FilterLogs(e apmc.Execution, errorsOnly bool) apmc.Execution {
	if !errorsOnly {
		return e
	}
	logs := []apmc.LogLine{}
	for _, l := range e.Logs {
		if l.Level == "error" {
			logs = append(logs, l)
		}
	}
	e.Logs = logs
	return e
}
