//go:build integration

package testenv_test

import (
	"testing"

	"github.com/saitodrom/zdd/testenv/testenvtest"
)

func TestUpIsIdempotent(t *testing.T) {
	env := testenvtest.Require(t)
	for _, s := range env.Status() {
		if !s.Running {
			t.Errorf("%s is not running", s.Name)
		}
	}
}
