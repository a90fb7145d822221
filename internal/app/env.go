package app

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Env reads settings from environment variables, collecting every problem
// so a misconfigured function says all that is wrong at once.
type Env struct {
	// Getenv looks a variable up; nil means os.Getenv. Tests set it.
	Getenv   func(string) string
	problems []string
}

func (e *Env) get(name string) string {
	getenv := e.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	return strings.TrimSpace(getenv(name))
}

// Required returns the variable's value, noting a problem if it is unset.
func (e *Env) Required(name string) string {
	v := e.get(name)
	if v == "" {
		e.problems = append(e.problems, name+" is not set")
	}
	return v
}

// Optional returns the variable's value or def.
func (e *Env) Optional(name, def string) string {
	if v := e.get(name); v != "" {
		return v
	}
	return def
}

// Seconds returns the variable as a duration in whole seconds, or def.
func (e *Env) Seconds(name string, def time.Duration) time.Duration {
	v := e.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		e.problems = append(e.problems, fmt.Sprintf("%s must be a whole number of seconds, not %q", name, v))
		return def
	}
	return time.Duration(n) * time.Second
}

// Positive returns the variable as a whole number of at least 1, or def.
func (e *Env) Positive(name string, def int) int {
	v := e.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		e.problems = append(e.problems, fmt.Sprintf("%s must be a whole number of at least 1, not %q", name, v))
		return def
	}
	return n
}

// Err reports the problems found, if any.
func (e *Env) Err() error {
	if len(e.problems) == 0 {
		return nil
	}
	return fmt.Errorf("configuration: %s", strings.Join(e.problems, "; "))
}

// Setting is one named value a configuration needs.
type Setting struct {
	Name, Value string
}

// Require reports the settings that are empty, naming them all, as a
// configuration error of what (a function or a part of one).
func Require(what string, settings ...Setting) error {
	var missing []string
	for _, s := range settings {
		if s.Value == "" {
			missing = append(missing, s.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s configuration: no %s", what, strings.Join(missing, ", "))
	}
	return nil
}
