package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

var deployUpdateCommand = &command{
	path:    "deploy update",
	args:    "ID",
	nargs:   1,
	summary: "moves a rollout on (state, weight, stage), through the API",
	about: `Talks to the API at FIREBREAK_URL with FIREBREAK_TOKEN, a token with the deploys:write
scope. A state only moves forward: in_progress, then promoted, aborted or rolled_back.`,
	flags: func(fs *flag.FlagSet) runFunc {
		state := fs.String("state", "", "the new `STATE`: in_progress, promoted, aborted or rolled_back")
		weight := fs.String("weight", "", "the percent of traffic on the new version, `N` from 0 to 100")
		stage := fs.String("stage", "", "free `TEXT` about where the rollout is (canary 25%)")
		return func(ctx context.Context, stdout io.Writer, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usageError{fmt.Sprintf("deploy update: %q is not a deploy id", args[0])}
			}
			body := map[string]any{}
			set := map[string]bool{}
			fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
			if set["state"] {
				body["state"] = strings.TrimSpace(*state)
			}
			if set["weight"] {
				n, err := strconv.Atoi(strings.TrimSpace(*weight))
				if err != nil {
					return usageError{fmt.Sprintf("deploy update: --weight %q is not a whole number", *weight)}
				}
				body["weight"] = n
			}
			if set["stage"] {
				body["stage"] = *stage
			}
			if len(body) == 0 {
				return usageError{"deploy update: give --state, --weight or --stage"}
			}
			var d deployAnswer
			if err := callDeploysAPI(ctx, http.MethodPatch, "/api/v1/deploys/"+strconv.FormatInt(id, 10), body, http.StatusOK, &d); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "deploy %d: %s %s is %s%s\n", d.ID, d.Service, d.Version, d.State, rolloutDetail(d))
			return nil
		}
	},
}

// rolloutDetail is the weight and stage of a deploy for a person (", 25%, canary 25%").
func rolloutDetail(d deployAnswer) string {
	s := ""
	if d.Weight != nil {
		s += fmt.Sprintf(", %d%%", *d.Weight)
	}
	if d.Stage != nil {
		s += ", " + *d.Stage
	}
	return s
}
