package infra

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

// TestCfnLint runs cfn-lint, when installed, on the template. cfn-lint
// applies the SAM transform and checks the result against CloudFormation's
// resource schemas, which covers what goformation's older SAM model cannot.
func TestCfnLint(t *testing.T) {
	if testing.Short() {
		t.Skip("cfn-lint takes seconds; skipped with -short")
	}
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not on PATH; template checked by the other tests only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, lint, "--", templatePath).CombinedOutput()
	if err != nil {
		t.Errorf("cfn-lint %s: %v\n%s", templatePath, err, out)
	}
}
