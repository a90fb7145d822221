package console

import (
	"net/http"

	"github.com/apmc-sync/apmc/internal/api"
)

// loginData is what the sign-in page shows.
type loginData struct {
	Problem string
}

func (c *console) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.sessions.check(r); ok {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	c.render(w, http.StatusOK, "login", page{Title: "Sign in", Data: loginData{}})
}

// login exchanges the operator token for a session cookie.
func (c *console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		c.render(w, http.StatusBadRequest, "login", page{Title: "Sign in", Data: loginData{Problem: "The form could not be read."}})
		return
	}
	if !api.TokenMatches(r.PostForm.Get("token"), c.cfg.TokenHash) {
		c.cfg.Logger.Warn("console sign-in refused", "remote", r.RemoteAddr)
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

func (c *console) logout(w http.ResponseWriter, r *http.Request, _ session) {
	http.SetCookie(w, clearCookie(c.cfg.Secure))
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}
