package ingest

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/mailchimp"
)

// MailchimpPath is the route of the Mailchimp webhook endpoint.
const MailchimpPath = "/webhooks/mailchimp/{instanceID}/{token}"

// NewMailchimp returns the Mailchimp webhook endpoint at MailchimpPath: GET
// answers Mailchimp's URL check, POST takes a delivery.
func NewMailchimp(d Deps) http.Handler {
	mux := http.NewServeMux()
	h := &mailchimpHandler{d}
	mux.HandleFunc("GET "+MailchimpPath, h.check)
	mux.HandleFunc("POST "+MailchimpPath, h.deliver)
	withFallbacks(mux, MailchimpPath, d.logger, http.MethodGet, http.MethodHead, http.MethodPost)
	return mux
}

type mailchimpHandler struct{ d Deps }

// check answers the GET Mailchimp sends when a webhook is registered.
func (h *mailchimpHandler) check(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("instanceID")
	log := h.d.logger().With("endpoint", "mailchimp", "instance_id", id, "method", r.Method)
	if _, err := authenticate(r.Context(), h.d.Webhooks, id, apmc.SideMailchimp, r.PathValue("token"), h.d.now()); err != nil {
		writeError(w, log, err)
		return
	}
	writeJSON(w, http.StatusOK, response{Status: "ready"})
}

func (h *mailchimpHandler) deliver(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("instanceID")
	log := h.d.logger().With("endpoint", "mailchimp", "instance_id", id, "method", r.Method)
	auth, err := authenticate(r.Context(), h.d.Webhooks, id, apmc.SideMailchimp, r.PathValue("token"), h.d.now())
	if err != nil {
		writeError(w, log, err)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		writeError(w, log, fmt.Errorf("%w %q: Mailchimp sends application/x-www-form-urlencoded", errMediaType, r.Header.Get("Content-Type")))
		return
	}
	body, err := readBody(w, r, h.d.maxBody())
	if err != nil {
		writeError(w, log, err)
		return
	}
	now := h.d.now().UTC()
	switch secret := auth.SigningSecret; {
	case secret != "":
		if err := mailchimp.VerifySignature(r.Header.Get("X-Mailchimp-Signature"), body, secret, now); err != nil {
			writeError(w, log, fmt.Errorf("%w: %w", errUnauthorized, err))
			return
		}
	case auth.RequireSignature:
		writeError(w, log, fmt.Errorf("%w: the instance requires signed deliveries and holds no signing secret yet (apmc webhooks register stores it)", errUnauthorized))
		return
	}
	if !utf8.Valid(body) {
		writeError(w, log, fmt.Errorf("%w: the body is not valid UTF-8", errMalformed))
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeError(w, log, fmt.Errorf("%w: the form cannot be decoded: %w", errMalformed, err))
		return
	}
	change, err := mailchimp.ParseWebhook(form, id, now)
	if err != nil {
		writeError(w, log, fmt.Errorf("%w: %w", errMalformed, err))
		return
	}
	// ParseWebhook requires fired_at, a time to the second, so the body
	// identifies the change: a byte-identical body is the same delivery sent
	// again.
	change.ID = deliveryID(id, r.Method, body, true)
	if err := checkKeys(change); err != nil {
		writeError(w, log, err)
		return
	}
	if change.Event == apmc.EventCampaign {
		log.Info("campaign event acknowledged and ignored")
		writeJSON(w, http.StatusOK, response{Status: "ignored"})
		return
	}
	if err := h.d.Queue.Enqueue(r.Context(), change); err != nil {
		writeError(w, log, err)
		return
	}
	// Debug: the execution records it; at INFO it would cost log bytes per change.
	log.Debug("change queued", "change_id", change.ID, "event", string(change.Event))
	writeJSON(w, http.StatusOK, response{Status: "queued", ChangeID: change.ID})
}
