// compose-check validates a Compose file without a Docker engine, the way `docker compose
// config` does: it loads the file with compose-go (the library Docker Compose is built on),
// which checks it against the Compose Specification JSON schema, interpolates variables from
// the given env file, applies profiles, and checks references (depends_on targets, named
// volumes, networks). On success it prints the resolved model as YAML, like `config`.
//
//	go run ./test/process/compose-check <compose.yml> <env-file> [profile...]
//
// Used by test/unit/compose.test.ts when no `docker compose` plugin is installed.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: compose-check <compose.yml> <env-file> [profile...]")
		os.Exit(2)
	}
	opts, err := cli.NewProjectOptions(
		[]string{os.Args[1]},
		cli.WithEnvFiles(os.Args[2]),
		cli.WithDotEnv,
		cli.WithProfiles(os.Args[3:]),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-check:", err)
		os.Exit(1)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-check: invalid:", err)
		os.Exit(1)
	}
	out, err := project.MarshalYAML()
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-check:", err)
		os.Exit(1)
	}
	_, _ = os.Stdout.Write(out)
}
