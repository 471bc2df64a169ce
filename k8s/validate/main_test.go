package main

import (
	"strings"
	"testing"
)

// The shipped overlays pass.
func TestOverlays(t *testing.T) {
	for _, dir := range []string{"../overlays/dev", "../overlays/production"} {
		n, problems := Validate(dir)
		if len(problems) > 0 {
			t.Errorf("%s: %s", dir, strings.Join(problems, "\n"))
		}
		if n < 10 {
			t.Errorf("%s: only %d objects rendered", dir, n)
		}
	}
}

// Each broken fixture fails, for the reason it was broken for.
func TestBrokenFixturesFail(t *testing.T) {
	cases := map[string][]string{
		"testdata/unknown-field": {`unknown field "spec.replica"`, "ServicePort.spec.ports.port of type int32"},
		"testdata/dangling": {
			"does not select its own pod template",
			"ConfigMap missing-config does not exist",
			`readinessProbe port "htp" is not a declared container port`,
			`targets "metrics", which no selected container declares`,
			"scaleTargetRef Deployment/webb does not exist",
			"no livenessProbe",
			"resources.requests needs cpu and memory",
		},
	}
	for dir, want := range cases {
		_, problems := Validate(dir)
		all := strings.Join(problems, "\n")
		for _, w := range want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: expected a problem containing %q; got:\n%s", dir, w, all)
			}
		}
	}
}
