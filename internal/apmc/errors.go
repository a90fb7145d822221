package apmc

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned (wrapped) by ports when the thing asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned (wrapped) by stores when a conditional write lost a
// race; the change is retried.
var ErrConflict = errors.New("conflict")

// permanent is implemented by errors that no retry can fix. Adapters
// (API clients) implement it on their own error types; anything that does
// not say so is treated as transient, so it is retried rather than lost.
type permanent interface{ Permanent() bool }

// IsPermanent reports whether err, or an error it wraps, says no retry can fix it.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p) && p.Permanent()
}

// Error is the domain's own error: a clear message for an operator, and
// whether retrying could help.
type Error struct {
	Msg       string
	Retryable bool
	Invalid   bool // the input (a request, a configuration) was at fault
}

func (e *Error) Error() string { return e.Msg }

// Permanent reports whether no retry can fix the error.
func (e *Error) Permanent() bool { return !e.Retryable }

// Permanentf returns a permanent error with a formatted message.
func Permanentf(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// Invalidf returns a permanent error blaming the input.
func Invalidf(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...), Invalid: true}
}

// IsInvalid reports whether err blames the input.
func IsInvalid(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Invalid
}
