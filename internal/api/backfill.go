package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/backfill"
)

// Backfill is the first sync as the API serves it: stored plans and the
// instance's one job. backfill.Service is one.
type Backfill interface {
	Start(ctx context.Context, instanceID, planID string) (backfill.Message, error)
	Status(ctx context.Context, instanceID string) (backfill.Job, error)
	Cancel(ctx context.Context, instanceID string) error
	Plans(ctx context.Context, instanceID string) ([]backfill.Plan, error)
	StoredPlan(ctx context.Context, instanceID, planID string) (backfill.Plan, error)
}

// MaxPlanContacts caps the contacts one plan answer lists; the CLI's CSV
// export has them all.
const MaxPlanContacts = 1000

// backfillRoutes registers the first sync's plans and job.
func (a *server) backfillRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/instances/{id}/plans", a.plans)
	mux.HandleFunc("GET /api/instances/{id}/plans/{pid}", a.plan)
	mux.HandleFunc("POST /api/instances/{id}/backfill", a.startBackfill)
	mux.HandleFunc("GET /api/instances/{id}/backfill", a.backfillStatus)
	mux.HandleFunc("POST /api/instances/{id}/backfill/cancel", a.cancelBackfill)
}

// withBackfill runs fn for an existing instance with the first sync
// available; otherwise it answers the error.
func (a *server) withBackfill(w http.ResponseWriter, r *http.Request, fn func(b Backfill, id string) error) {
	id := r.PathValue("id")
	err := errRoute
	if a.cfg.Backfill != nil {
		if _, err = a.cfg.Ops.Instances.Display(r.Context(), id); err == nil {
			err = fn(a.cfg.Backfill, id)
		}
	}
	if err != nil {
		writeError(w, a.log(), err)
	}
}

func (a *server) plans(w http.ResponseWriter, r *http.Request) {
	a.withBackfill(w, r, func(b Backfill, id string) error {
		if err := onlyParams(r.URL.Query(), nil); err != nil {
			return err
		}
		list, err := b.Plans(r.Context(), id)
		if err != nil {
			return err
		}
		if list == nil {
			list = []backfill.Plan{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"plans": list})
		return nil
	})
}

// planContact is one contact of a plan as the API lists it: its action and
// why, without the values to write.
type planContact struct {
	Email      string          `json:"email"`
	UserID     string          `json:"user_id,omitempty"`
	Action     apmc.PairAction `json:"action"`
	Winner     apmc.Side       `json:"winner,omitempty"`
	Reason     string          `json:"reason"`
	SharedWith []string        `json:"shared_with,omitempty"`
}

func (a *server) plan(w http.ResponseWriter, r *http.Request) {
	a.withBackfill(w, r, func(b Backfill, id string) error {
		if err := onlyParams(r.URL.Query(), []string{"contacts"}); err != nil {
			return err
		}
		withContacts := false
		if s := r.URL.Query().Get("contacts"); s != "" {
			v, err := strconv.ParseBool(s)
			if err != nil {
				return apmc.Invalidf("contacts must be true or false")
			}
			withContacts = v
		}
		p, err := b.StoredPlan(r.Context(), id, r.PathValue("pid"))
		if apmc.IsInvalid(err) {
			err = errors.Join(apmc.ErrNotFound, err) // an unknown or expired plan is not found
		}
		if err != nil {
			return err
		}
		answer := map[string]any{"plan": p}
		if withContacts {
			list := make([]planContact, 0, min(len(p.Contacts), MaxPlanContacts))
			for _, c := range p.Contacts[:min(len(p.Contacts), MaxPlanContacts)] {
				list = append(list, planContact{Email: c.Email, UserID: c.UserID, Action: c.Action, Winner: c.Winner, Reason: c.Reason, SharedWith: c.SharedWith})
			}
			answer["contacts"], answer["truncated"] = list, len(p.Contacts) > MaxPlanContacts
		}
		writeJSON(w, http.StatusOK, answer)
		return nil
	})
}

func (a *server) startBackfill(w http.ResponseWriter, r *http.Request) {
	a.withBackfill(w, r, func(b Backfill, id string) error {
		var body struct {
			PlanID string `json:"plan_id"`
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.PlanID == "" {
			return apmc.Invalidf(`the body must be {"plan_id": "…"}, the id of a stored plan`)
		}
		m, err := b.Start(r.Context(), id, body.PlanID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"instance_id": m.InstanceID, "plan_id": m.PlanID, "status": "queued"})
		return nil
	})
}

func (a *server) backfillStatus(w http.ResponseWriter, r *http.Request) {
	a.withBackfill(w, r, func(b Backfill, id string) error {
		j, err := b.Status(r.Context(), id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"job": j})
		return nil
	})
}

func (a *server) cancelBackfill(w http.ResponseWriter, r *http.Request) {
	a.withBackfill(w, r, func(b Backfill, id string) error {
		if err := b.Cancel(r.Context(), id); err != nil {
			return err
		}
		j, err := b.Status(r.Context(), id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"job": j})
		return nil
	})
}
