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

// Error is the domain's own permanent error: a clear message for an
// operator, and whether the input was at fault. Transient failures are the
// adapters' errors, never this type.
type Error struct {
	Msg     string
	Invalid bool  // the input (a request, a configuration) was at fault
	cause   error // what Permanentf or Invalidf built, wrapping any %w operands
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the errors a %w verb of Permanentf or Invalidf wrapped, so
// errors.Is finds them.
func (e *Error) Unwrap() []error {
	switch c := e.cause.(type) { //nolint:errorlint // Unwrap looks at its own cause, not down the chain errors.As walks
	case interface{ Unwrap() error }:
		return []error{c.Unwrap()}
	case interface{ Unwrap() []error }:
		return c.Unwrap()
	}
	return nil
}

// Permanent reports that no retry can fix the error: always true.
func (e *Error) Permanent() bool { return true }

// Permanentf returns a permanent error with a message formatted as
// fmt.Errorf does: errors given to %w stay reachable with errors.Is.
func Permanentf(format string, args ...any) error {
	cause := fmt.Errorf(format, args...)
	return &Error{Msg: cause.Error(), cause: cause}
}

// Invalidf returns a permanent error blaming the input, formatted as
// Permanentf.
func Invalidf(format string, args ...any) error {
	cause := fmt.Errorf(format, args...)
	return &Error{Msg: cause.Error(), Invalid: true, cause: cause}
}

// IsInvalid reports whether err blames the input.
func IsInvalid(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Invalid
}
