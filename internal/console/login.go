package console

import (
	"math"
	"net/http"
	"strconv"

	"github.com/apmc-sync/apmc/internal/api"
)

// loginData is what the sign-in page shows.
type loginData struct {
	Problem string
}

func (c *console) loginForm(w http.ResponseWriter, r *http.Request) {
	if !c.sessions.ready() {
		c.fail(w, r, session{}, errNoKey)
		return
	}
	if _, ok := c.sessions.check(r); ok {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	c.render(w, http.StatusOK, "login", page{Title: "Sign in", Data: loginData{}})
}

// login exchanges the operator token for a session cookie. A client that
// failed too often recently is refused before its token is even compared.
func (c *console) login(w http.ResponseWriter, r *http.Request) {
	if !c.sessions.ready() {
		c.fail(w, r, session{}, errNoKey)
		return
	}
	client := clientOf(r)
	if wait := c.throttle.wait(client); wait > 0 {
		c.cfg.Logger.Warn("console sign-in throttled", "client", client)
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		c.fail(w, r, session{}, errThrottled)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		c.render(w, http.StatusBadRequest, "login", page{Title: "Sign in", Data: loginData{Problem: "The form could not be read."}})
		return
	}
	if !api.TokenMatches(r.PostForm.Get("token"), c.cfg.TokenHash) {
		c.throttle.fail(client)
		c.cfg.Logger.Warn("console sign-in refused", "client", client)
		c.render(w, http.StatusUnauthorized, "login", page{Title: "Sign in", Data: loginData{Problem: "That is not the operator token."}})
		return
	}
	_, cookie, ok := c.sessions.issue(c.cfg.Secure)
	if !ok {
		c.fail(w, r, session{}, errNoSession)
		return
	}
	http.SetCookie(w, cookie)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

// logout ends the session: the browser drops the cookie, and this process
// refuses it from now on should it be sent again.
func (c *console) logout(w http.ResponseWriter, r *http.Request, sess session) {
	c.sessions.revoke(sess)
	http.SetCookie(w, clearCookie(c.cfg.Secure))
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}
