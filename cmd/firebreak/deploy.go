package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// deployFields maps each flag of deploy record to the API field it fills.
var deployFields = []struct{ flag, field, help string }{
	{"service", "service", "the `SERVICE` deployed, named as its alerts name it"},
	{"env", "environment", "the environment deployed to (`ENV`, for example production)"},
	{"version", "version", "the `VERSION` deployed"},
	{"previous", "previous_version", "the version it replaced, `V0`: the rollback target"},
	{"commit", "commit", "the commit `SHA` deployed"},
	{"url", "url", "a `URL` of the pipeline run or the release"},
	{"author", "author", "who deployed (`AUTHOR`)"},
	{"description", "description", "free `TEXT` about the change"},
	{"started-at", "started_at", "when the deploy started, an RFC 3339 `TIME`"},
	{"finished-at", "finished_at", "when it finished, an RFC 3339 `TIME` (default: now; none while --state is in_progress)"},
	{"strategy", "strategy", "how it rolls out, `STRATEGY`: rolling (default), blue_green or canary"},
	{"stage", "stage", "free `TEXT` about where the rollout is (canary 25%)"},
	{"state", "state", "the rollout's `STATE`: promoted (default), in_progress, aborted or rolled_back"},
}

// flagNames collects --flag, given once per flag or as a comma-separated list.
type flagNames []string

func (f *flagNames) String() string { return strings.Join(*f, ",") }

// Set adds each non-blank name of a comma-separated list.
func (f *flagNames) Set(v string) error {
	for _, name := range strings.Split(v, ",") {
		if name = strings.TrimSpace(name); name != "" {
			*f = append(*f, name)
		}
	}
	return nil
}

var deployRecordCommand = &command{
	path:     "deploy record",
	summary:  "records a deploy from a CI pipeline, through the API",
	required: []string{"service", "env", "version"},
	about: `Talks to the API at FIREBREAK_URL with FIREBREAK_TOKEN, a token with the deploys:write
scope, so it works from any runner that can reach Firebreak. Prints the deploy's id.`,
	flags: func(fs *flag.FlagSet) runFunc {
		values := make([]*string, len(deployFields))
		for i, f := range deployFields {
			values[i] = fs.String(f.flag, "", f.help)
		}
		weight := fs.String("weight", "", "the percent of traffic on the new version, `N` from 0 to 100")
		reversible := fs.Bool("reversible", true, "whether a rollback can undo it; --reversible=false for a one-way change (a migration)")
		var flags flagNames
		fs.Var(&flags, "flag", "a feature `FLAG` the deploy ships behind; repeat it or give a comma-separated list")
		return func(ctx context.Context, stdout io.Writer, _ []string) error {
			body := map[string]any{}
			for i, f := range deployFields {
				if v := strings.TrimSpace(*values[i]); v != "" {
					body[f.field] = v
				}
			}
			if w := strings.TrimSpace(*weight); w != "" {
				n, err := strconv.Atoi(w)
				if err != nil {
					return usageError{fmt.Sprintf("deploy record: --weight %q is not a whole number", *weight)}
				}
				body["weight"] = n
			}
			// Sent only when given, so the server's default stays the one place that decides.
			fs.Visit(func(f *flag.Flag) {
				if f.Name == "reversible" {
					body["reversible"] = *reversible
				}
			})
			if len(flags) > 0 {
				body["flags"] = []string(flags)
			}
			return runDeployRecord(ctx, body, stdout)
		}
	},
}

// runDeployRecord posts the deploy, the step a CI pipeline runs after a deploy. It talks
// to the API (FIREBREAK_URL, FIREBREAK_TOKEN with deploys:write), so it works from any
// runner that can reach Firebreak. The required fields are checked before it is called.
func runDeployRecord(ctx context.Context, body map[string]any, stdout io.Writer) error {
	var d deployAnswer
	if err := callDeploysAPI(ctx, http.MethodPost, "/api/v1/deploys", body, http.StatusCreated, &d); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "recorded deploy %d: %s %s\n", d.ID, d.Service, d.Version)
	return nil
}

// deployAnswer is the part of a deploy the commands print.
type deployAnswer struct {
	ID      int64   `json:"id"`
	Service string  `json:"service"`
	Version string  `json:"version"`
	State   string  `json:"state"`
	Weight  *int    `json:"weight"`
	Stage   *string `json:"stage"`
}

// callDeploysAPI sends body to the API at FIREBREAK_URL with FIREBREAK_TOKEN and decodes the
// answer into out when it has the status wanted; otherwise its error, for a person.
func callDeploysAPI(ctx context.Context, method, path string, body any, want int, out any) error {
	base, token := strings.TrimRight(os.Getenv("FIREBREAK_URL"), "/"), os.Getenv("FIREBREAK_TOKEN")
	if base == "" || token == "" {
		return errors.New("set FIREBREAK_URL and FIREBREAK_TOKEN (a token with the deploys:write scope)")
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("FIREBREAK_URL %q: %w", base, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach Firebreak: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(answer, &e) == nil && e.Error != "" {
			return fmt.Errorf("HTTP %d: %s", resp.StatusCode, e.Error)
		}
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	return nil
}
