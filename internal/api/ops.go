package api

import (
	"net/http"
	"strconv"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// opsRoutes registers the operations beyond listing instances and executions.
func (a *server) opsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/instances/{id}/contacts/{email}/timeline", a.timeline)
	mux.HandleFunc("POST /api/instances/{id}/pause", a.pause)
	mux.HandleFunc("POST /api/instances/{id}/resume", a.resume)
	mux.HandleFunc("POST /api/instances/{id}/executions/{eid}/replay", a.replay)
	mux.HandleFunc("POST /api/instances/{id}/executions/replay", a.replayMatching)
	mux.HandleFunc("GET /api/dead-letters", a.deadLetters)
	mux.HandleFunc("POST /api/dead-letters/redrive", a.redrive)
	mux.HandleFunc("GET /api/health", a.healths)
	mux.HandleFunc("GET /api/instances/{id}/health", a.health)
}

func (a *server) health(w http.ResponseWriter, r *http.Request) {
	h, err := a.cfg.Ops.Health(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (a *server) healths(w http.ResponseWriter, r *http.Request) {
	list, err := a.cfg.Ops.Healths(r.Context())
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"instances": list})
}

func (a *server) summary(w http.ResponseWriter, r *http.Request) {
	sum, err := a.cfg.Ops.Summary(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	writeJSON(w, http.StatusOK, sum)
}

func (a *server) summaries(w http.ResponseWriter, r *http.Request) {
	list, err := a.cfg.Ops.Summaries(r.Context())
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"instances": list})
}

func (a *server) timeline(w http.ResponseWriter, r *http.Request) {
	tl, err := a.cfg.Ops.Timeline(r.Context(), r.PathValue("id"), r.PathValue("email"))
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	answer := map[string]any{"contact": r.PathValue("email"), "executions": tl.Executions}
	if tl.Truncated {
		answer["truncated"] = true
	}
	writeJSON(w, http.StatusOK, answer)
}

func (a *server) pause(w http.ResponseWriter, r *http.Request) {
	in, err := a.cfg.Ops.Pause(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"instance": in})
}

func (a *server) resume(w http.ResponseWriter, r *http.Request) {
	res, err := a.cfg.Ops.Resume(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (a *server) replay(w http.ResponseWriter, r *http.Request) {
	res, err := a.cfg.Ops.Replay(r.Context(), r.PathValue("id"), r.PathValue("eid"))
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	writeJSON(w, http.StatusAccepted, res)
}

// replayMatching replays the executions matching the query's filters; with
// no status filter it replays failed ones.
func (a *server) replayMatching(w http.ResponseWriter, r *http.Request) {
	if err := onlyParams(r.URL.Query(), filterParams); err != nil {
		writeError(w, a.log(), err)
		return
	}
	q, err := parseQuery(r.URL.Query())
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	if q.Status == "" {
		q.Status = apmc.StatusFailed
	}
	q.Cursor = ""
	list, err := a.cfg.Ops.ReplayMatching(r.Context(), r.PathValue("id"), q)
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"replayed": list})
}

func (a *server) deadLetters(w http.ResponseWriter, r *http.Request) {
	list, err := a.cfg.Ops.DeadLetterList(r.Context(), 100)
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	if list == nil {
		list = []apmc.Change{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"changes": list})
}

func (a *server) redrive(w http.ResponseWriter, r *http.Request) {
	max := 100
	if s := r.URL.Query().Get("max"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, a.log(), apmc.Invalidf("max must be a number from 1 to 1000"))
			return
		}
		max = n
	}
	n, err := a.cfg.Ops.DeadLetterRedrive(r.Context(), max)
	if err != nil {
		writeError(w, a.log(), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"redriven": n})
}
