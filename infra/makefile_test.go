package infra

import (
	"os"
	"regexp"
	"testing"
)

// TestMakefileBuildTargets checks that `sam build` can build every function:
// with Metadata.BuildMethod makefile, SAM runs `make build-<LogicalId>`.
func TestMakefileBuildTargets(t *testing.T) {
	data, err := os.ReadFile("../Makefile")
	if os.IsNotExist(err) {
		t.Skip("no ../Makefile yet; the build-<LogicalId> targets cannot be checked")
	}
	if err != nil {
		t.Fatalf("read Makefile: %v", err)
	}
	for _, id := range functionIDs {
		target := regexp.MustCompile(`(?m)^build-` + id + `\s*:`)
		if !target.Match(data) {
			t.Errorf("Makefile has no build-%s target, want one (SAM runs it for BuildMethod makefile)", id)
		}
	}
}
