package slack

import (
	"testing"
	"time"
)

func TestSpokenDurations(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Second:                "less than a minute",
		time.Minute:                     "1 minute",
		15*time.Minute + 59*time.Second: "15 minutes",
		time.Hour:                       "1 hour",
		65 * time.Minute:                "1 hour 5 minutes",
		26 * time.Hour:                  "1 day 2 hours",
		120*time.Hour + 59*time.Minute:  "5 days",
		240*time.Hour + 2*time.Hour + 1: "10 days 2 hours",
	} {
		if got := spoken(d); got != want {
			t.Errorf("spoken(%s) = %q, want %q", d, got, want)
		}
	}
}
