package console

import (
	"net/http"
	"strconv"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/ops"
)

// instances lists every instance's summary.
func (c *console) instances(w http.ResponseWriter, r *http.Request, sess session) {
	list, err := c.cfg.Ops.Summaries(r.Context())
	if err != nil {
		c.fail(w, r, sess, err)
		return
	}
	d := instancesData{Summaries: list}
	if d.Healths, err = c.cfg.Ops.HealthsOf(r.Context(), list); err != nil {
		c.fail(w, r, sess, err)
		return
	}
	c.render(w, http.StatusOK, "instances", page{Title: "Instances", Session: sess, Data: d})
}

// instancesData is what the instances page shows: each instance's summary
// and, in the health panel, its health.
type instancesData struct {
	Summaries []ops.Summary
	Healths   []ops.Health
}

// instanceData is what the instance page shows.
type instanceData struct {
	Summary      ops.Summary
	Filters      filters
	Problem      string // the filters are invalid
	Executions   []apmc.Execution
	NewestURL    string // first page, when on a later one
	OlderURL     string // next page, if any
	ReplayFailed bool   // the filters allow a bulk replay of failures
	Statuses     []apmc.Status
	Flows        []apmc.Flow
	FirstSync    *firstSync // nil: no first sync here
	Health       ops.Health
}

// instance shows an instance's state and its executions, filtered.
func (c *console) instance(w http.ResponseWriter, r *http.Request, sess session) {
	id := r.PathValue("id")
	sum, err := c.cfg.Ops.Summary(r.Context(), id)
	if err != nil {
		c.fail(w, r, sess, err)
		return
	}
	d := instanceData{
		Summary:  sum,
		Statuses: apmc.Statuses,
		Flows:    apmc.Flows,
	}
	f, q, err := parseFilters(r.URL.Query())
	d.Filters = f
	status := http.StatusOK
	if err != nil {
		if !apmc.IsInvalid(err) {
			c.fail(w, r, sess, err)
			return
		}
		d.Problem, status = err.Error(), http.StatusBadRequest
	} else {
		list, next, err := c.cfg.Ops.Executions.Executions(r.Context(), id, q)
		if err != nil {
			if !apmc.IsInvalid(err) {
				c.fail(w, r, sess, err)
				return
			}
			d.Problem, status = err.Error(), http.StatusBadRequest // a bad cursor
		}
		d.Executions = list
		if next != "" {
			d.OlderURL = f.url(id, next)
		}
		if f.Cursor != "" {
			d.NewestURL = f.url(id, "")
		}
		d.ReplayFailed = f.Status == "" || f.Status == string(apmc.StatusFailed)
	}
	d.FirstSync = c.firstSync(r.Context(), id)
	if d.Health, err = c.cfg.Ops.HealthOf(r.Context(), sum); err != nil {
		c.fail(w, r, sess, err)
		return
	}
	c.render(w, status, "instance", page{Title: sum.Instance.Name, Session: sess, Notice: instanceNotice(r), Data: d})
}

// instanceNotice confirms an action the instance page was redirected from.
// Only known codes and numbers are read, so a link cannot put words in the
// console's mouth.
func instanceNotice(r *http.Request) *notice {
	v := r.URL.Query()
	n, _ := strconv.Atoi(v.Get("n"))
	switch v.Get("done") {
	case "paused":
		return &notice{Text: "Instance paused: changes are held (or discarded, if so set) until it is resumed."}
	case "resumed":
		return &notice{Text: "Instance resumed; held changes released: " + strconv.Itoa(n) + "."}
	case "bulk":
		return &notice{Text: "Failed executions queued for replay: " + strconv.Itoa(n) + ". Their replays appear here as they run."}
	}
	return nil
}

// executionData is what the execution page shows.
type executionData struct {
	InstanceID string
	ops.Detail
	ErrorsOnly bool
}

// execution shows one execution with its steps, logs and links; with
// errors_only (true or false, as the API reads it) only the error lines.
func (c *console) execution(w http.ResponseWriter, r *http.Request, sess session) {
	id := r.PathValue("id")
	errorsOnly, _ := strconv.ParseBool(r.URL.Query().Get("errors_only")) // anything else shows every line
	d, err := c.cfg.Ops.Detail(r.Context(), id, r.PathValue("eid"), errorsOnly)
	if err != nil {
		c.fail(w, r, sess, err)
		return
	}
	var n *notice
	if replay := r.URL.Query().Get("replayed"); validID(replay) {
		n = &notice{Text: "Replay queued; it will be recorded as execution", Link: execURL(id, replay), LinkText: replay}
	}
	c.render(w, http.StatusOK, "execution", page{Title: "Execution " + d.ID, Session: sess, Notice: n, Data: executionData{InstanceID: id, Detail: d, ErrorsOnly: errorsOnly}})
}

// validID reports whether s looks like an execution id (a ULID).
func validID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

// timelineData is what the contact timeline shows.
type timelineData struct {
	InstanceID string
	Contact    string
	Executions []apmc.Execution
	Truncated  bool // older executions were left out
}

// timeline shows everything that happened to one contact, oldest first.
func (c *console) timeline(w http.ResponseWriter, r *http.Request, sess session) {
	id, contact := r.PathValue("id"), r.URL.Query().Get("contact")
	tl, err := c.cfg.Ops.Timeline(r.Context(), id, contact)
	if err != nil {
		c.fail(w, r, sess, err)
		return
	}
	c.render(w, http.StatusOK, "timeline", page{Title: "Timeline of " + contact, Session: sess, Data: timelineData{InstanceID: id, Contact: contact, Executions: tl.Executions, Truncated: tl.Truncated}})
}
