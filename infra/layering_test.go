package infra

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDomainImportsNoAWSOrHTTP keeps the domain free of AWS, Lambda and HTTP
// code: the adapters around it hold those.
func TestDomainImportsNoAWSOrHTTP(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/apmc-sync/apmc/internal/apmc").Output()
	if err != nil {
		t.Fatalf("go list -deps internal/apmc: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case strings.HasPrefix(dep, "github.com/aws/"), strings.HasPrefix(dep, "github.com/awslabs/"),
			dep == "net/http", strings.HasPrefix(dep, "net/http/"):
			t.Errorf("internal/apmc depends on %s", dep)
		}
	}
}
