package accessplanit

import (
	"fmt"
	"strings"
)

// ValidationError is returned by the control methods for fields the
// platform would reject.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "invalid user: " + strings.Join(e.Problems, "; ")
}

// NotFoundError is returned by the control methods for an unknown User.
type NotFoundError struct {
	ID string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("user %q not found", e.ID) }
