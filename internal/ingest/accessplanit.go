package ingest

import (
	"fmt"
	"mime"
	"net/http"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
)

// AccessplanitPath is the route of the accessplanit webhook endpoint.
const AccessplanitPath = "/webhooks/accessplanit/{instanceID}/{token}"

// NewAccessplanit returns the accessplanit webhook endpoint: POST (created),
// PUT or PATCH (updated) and DELETE (deleted) at AccessplanitPath.
func NewAccessplanit(d Deps) http.Handler {
	mux := http.NewServeMux()
	h := &accessplanitHandler{d}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		mux.Handle(m+" "+AccessplanitPath, h)
	}
	withFallbacks(mux, AccessplanitPath, d.logger, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete)
	return mux
}

type accessplanitHandler struct{ d Deps }

func (h *accessplanitHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("instanceID")
	log := h.d.logger().With("endpoint", "accessplanit", "instance_id", id, "method", r.Method)
	if _, err := authenticate(r.Context(), h.d.Webhooks, id, apmc.SideAccessplanit, r.PathValue("token"), h.d.now()); err != nil {
		writeError(w, log, err)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && mt != "text/json" && mt != "text/plain") {
			writeError(w, log, fmt.Errorf("%w %q: send application/json", errMediaType, ct))
			return
		}
	}
	body, err := readBody(w, r, h.d.maxBody())
	if err != nil {
		writeError(w, log, err)
		return
	}
	change, err := accessplanit.ParseWebhook(r.Method, body, id, h.d.now().UTC())
	if err != nil {
		writeError(w, log, fmt.Errorf("%w: %w", errMalformed, err))
		return
	}
	change.ID = deliveryID(id, r.Method, body, carriesChangeTime(change))
	if err := checkKeys(change); err != nil {
		writeError(w, log, err)
		return
	}
	if err := h.d.Queue.Enqueue(r.Context(), change); err != nil {
		writeError(w, log, err)
		return
	}
	// Debug: the execution records it; at INFO it would cost log bytes per change.
	log.Debug("change queued", "change_id", change.ID, "event", string(change.Event), "user_id", change.UserID)
	writeJSON(w, http.StatusAccepted, response{Status: "queued", ChangeID: change.ID})
}
