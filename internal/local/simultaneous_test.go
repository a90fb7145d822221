package local_test

import (
	"fmt"
	"sync"
	"testing"
)

// Edits made on both sides at nearly the same moment must leave both sides
// equal (either value may win), never crossed.
func TestSimultaneousEditsConverge(t *testing.T) {
	t.Parallel()
	s := startStackWith(t, nil)
	list := s.Info.Sandbox.Mailchimp.ListID
	const email = "both.sides@example.com"
	id := createSynced(t, s, "Ada", "Lovelace", email)
	for round := 1; round <= 5; round++ {
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := s.Accessplanit.EditUserInUI(id, map[string]any{"Forenames": fmt.Sprintf("AP%d", round)}); err != nil {
				t.Errorf("EditUserInUI() error = %v", err)
			}
		})
		wg.Go(func() {
			if err := s.Mailchimp.EditMemberInUI(list, email, map[string]any{"FNAME": fmt.Sprintf("MC%d", round)}, "user"); err != nil {
				t.Errorf("EditMemberInUI() error = %v", err)
			}
		})
		wg.Wait()
		settle(t, s)
		ap := toString(apUser(t, s, id)["Forenames"])
		m, _ := s.Mailchimp.Member(list, email)
		mc := toString(m.MergeFields["FNAME"])
		if ap != mc {
			t.Errorf("round %d: accessplanit Forenames %q, Mailchimp FNAME %q; want them equal", round, ap, mc)
		}
		if ap != fmt.Sprintf("AP%d", round) && ap != fmt.Sprintf("MC%d", round) {
			t.Errorf("round %d: value %q is from neither edit", round, ap)
		}
	}
	noFailures(t, s)
}
