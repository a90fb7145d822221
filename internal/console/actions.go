package console

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// Every action answers with a redirect (303) to a page confirming it, so a
// reload does not repeat it.

func (c *console) pause(w http.ResponseWriter, r *http.Request, sess session) {
	id := r.PathValue("id")
	if _, err := c.cfg.Ops.Pause(r.Context(), id); err != nil {
		c.fail(w, r, sess, err)
		return
	}
	c.cfg.Logger.Info("console: instance paused", "instance", id)
	http.Redirect(w, r, instanceURL(id)+"?done=paused", http.StatusSeeOther)
}

func (c *console) resume(w http.ResponseWriter, r *http.Request, sess session) {
	id := r.PathValue("id")
	res, err := c.cfg.Ops.Resume(r.Context(), id)
	if err != nil {
		c.fail(w, r, sess, err)
		return
	}
	c.cfg.Logger.Info("console: instance resumed", "instance", id, "released", res.Released)
	http.Redirect(w, r, instanceURL(id)+"?done=resumed&n="+strconv.Itoa(res.Released), http.StatusSeeOther)
}

// replay queues one execution's change again.
func (c *console) replay(w http.ResponseWriter, r *http.Request, sess session) {
	id, eid := r.PathValue("id"), r.PathValue("eid")
	res, err := c.cfg.Ops.Replay(r.Context(), id, eid)
	if err != nil {
		c.fail(w, r, sess, err)
		return
	}
	c.cfg.Logger.Info("console: execution replayed", "instance", id, "execution", eid, "replay", res.ExecutionID)
	http.Redirect(w, r, execURL(id, eid)+"?"+url.Values{"replayed": {res.ExecutionID}}.Encode(), http.StatusSeeOther)
}

// replayFailed replays every failed execution matching the posted filters.
func (c *console) replayFailed(w http.ResponseWriter, r *http.Request, sess session) {
	id := r.PathValue("id")
	f, q, err := parseFilters(r.PostForm)
	if err != nil {
		c.fail(w, r, sess, err)
		return
	}
	if q.Status != "" && q.Status != apmc.StatusFailed {
		c.fail(w, r, sess, apmc.Invalidf("only failed executions are replayed in bulk"))
		return
	}
	q.Status, q.Cursor, q.Limit = apmc.StatusFailed, "", 0
	list, err := c.cfg.Ops.ReplayMatching(r.Context(), id, q)
	if err != nil {
		c.fail(w, r, sess, err)
		return
	}
	c.cfg.Logger.Info("console: failed executions replayed", "instance", id, "count", len(list))
	f.Cursor = ""
	v := f.values()
	v.Set("done", "bulk")
	v.Set("n", strconv.Itoa(len(list)))
	http.Redirect(w, r, instanceURL(id)+"?"+v.Encode(), http.StatusSeeOther)
}
