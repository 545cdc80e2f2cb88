// Package deploys records deploy events, matches them with incidents ("was it the
// deploy?"), and rolls a suspected deploy back through a service's hook.
package deploys

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"firebreak/incidents"
	"firebreak/text"
)

// Named errors; the HTTP layer maps them once.
var (
	ErrInvalid  = errors.New("invalid deploy")
	ErrNotFound = errors.New("deploy not found")
)

// Deploy is one deploy event as stored and shown.
type Deploy struct {
	ID              int64      `json:"id" db:"id"`
	Service         string     `json:"service" db:"service"`
	Environment     string     `json:"environment" db:"environment"`
	Version         string     `json:"version" db:"version"`
	PreviousVersion *string    `json:"previous_version" db:"previous_version"`
	Commit          *string    `json:"commit" db:"commit_sha"`
	Author          *string    `json:"author" db:"author"`
	URL             *string    `json:"url" db:"url"`
	Description     *string    `json:"description" db:"description"`
	StartedAt       *time.Time `json:"started_at" db:"started_at"`
	// FinishedAt is when the deploy finished; while it is in progress it holds when it
	// started (or was recorded), and the JSON shows null.
	FinishedAt time.Time `json:"finished_at" db:"finished_at"`
	RecordedAt time.Time `json:"-" db:"recorded_at"`
	// Strategy is how the deploy rolls out: rolling, blue_green or canary.
	Strategy string `json:"strategy" db:"strategy"`
	// Stage is free text about where the rollout is ("canary 10%").
	Stage *string `json:"stage" db:"stage"`
	// Weight is the percent of traffic on the new version, when known.
	Weight *int `json:"weight" db:"weight"`
	// State is in_progress, promoted, aborted or rolled_back.
	State string `json:"state" db:"state"`
	// Reversible is false when a rollback would not undo the deploy (it ran a migration):
	// automation never rolls it back.
	Reversible bool `json:"reversible" db:"reversible"`
	// Flags are the feature flags the deploy turned on.
	Flags FlagList `json:"flags" db:"flags"`
}

// Input is a deploy as a CI pipeline reports it.
type Input struct {
	Service         string     `json:"service"`
	Environment     string     `json:"environment"`
	Version         string     `json:"version"`
	PreviousVersion string     `json:"previous_version"`
	Commit          string     `json:"commit"`
	Author          string     `json:"author"`
	URL             string     `json:"url"`
	Description     string     `json:"description"`
	StartedAt       *time.Time `json:"started_at"`
	FinishedAt      *time.Time `json:"finished_at"`
	Strategy        string     `json:"strategy"`
	Stage           string     `json:"stage"`
	Weight          *int       `json:"weight"`
	State           string     `json:"state"`
	Reversible      *bool      `json:"reversible"`
	Flags           []string   `json:"flags"`
}

const (
	maxShort = 200
	maxLong  = 5000
)

// deploy validates in and builds the deploy; a deploy without finished_at finished when it
// was received.
func (in Input) deploy(now time.Time) (Deploy, error) {
	in.Service, in.Environment, in.Version = strings.TrimSpace(in.Service), strings.TrimSpace(in.Environment), strings.TrimSpace(in.Version)
	var problems []string
	if in.Service == "" {
		problems = append(problems, "service is required")
	}
	if in.Version == "" {
		problems = append(problems, "version is required")
	}
	for _, f := range []struct {
		name, value string
		max         int
	}{{"service", in.Service, maxShort}, {"environment", in.Environment, maxShort}, {"version", in.Version, maxShort},
		{"previous_version", in.PreviousVersion, maxShort}, {"commit", in.Commit, maxShort}, {"author", in.Author, maxShort},
		{"url", in.URL, maxLong}, {"description", in.Description, maxLong}} {
		if err := text.Check(f.name, f.value, f.max, false); err != nil {
			problems = append(problems, err.Error())
		}
	}
	d := Deploy{Service: in.Service, Environment: in.Environment, Version: in.Version, PreviousVersion: optional(in.PreviousVersion),
		Commit: optional(in.Commit), Author: optional(in.Author), URL: optional(in.URL), Description: optional(in.Description),
		FinishedAt: now, RecordedAt: now}
	problems = append(problems, in.rollout(&d)...)
	if in.FinishedAt != nil {
		d.FinishedAt = in.FinishedAt.UTC()
	}
	if in.StartedAt != nil {
		t := in.StartedAt.UTC()
		d.StartedAt = &t
		if d.State == StateInProgress {
			d.FinishedAt = t // stands for the start while in progress; shown as null
		}
		if t.After(d.FinishedAt) {
			problems = append(problems, "started_at is after finished_at")
		}
	}
	if d.FinishedAt.Before(incidents.Epoch) || (d.StartedAt != nil && d.StartedAt.Before(incidents.Epoch)) {
		problems = append(problems, "times before 1970 are not accepted")
	}
	if d.FinishedAt.After(now.Add(5 * time.Minute)) {
		problems = append(problems, "finished_at is in the future")
	}
	if len(problems) > 0 {
		return Deploy{}, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return d, nil
}

func optional(s string) *string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	return &s
}

// Label names the deploy for people: "checkout 1.4.2 (prod)".
func (d Deploy) Label() string {
	l := d.Service + " " + d.Version
	if d.Environment != "" {
		l += " (" + d.Environment + ")"
	}
	return l
}

// shortCommitLength is how much of a commit people see, as git's short hashes.
const shortCommitLength = 12

// ShortCommit is the start of the deploy's commit for timelines ("abc123def456"): its first
// twelve characters, never a character cut in two, so the line stays valid UTF-8 whatever a
// CI pipeline sent. Empty when the deploy names no commit.
func (d Deploy) ShortCommit() string {
	if d.Commit == nil {
		return ""
	}
	c := text.Clean(*d.Commit)
	n := 0
	for i := range c {
		if n == shortCommitLength {
			return c[:i]
		}
		n++
	}
	return c
}
