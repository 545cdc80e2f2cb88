package scheduler

import (
	"fmt"
	"log/slog"
)

// cronLogger passes robfig/cron's messages to slog. Cron reports every wake-up and start at
// Info; those become Debug, except "skip" (a tick came while the previous run still went),
// which someone should see.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, keysAndValues ...any) {
	if msg == "skip" {
		l.log.Warn("scheduled job skipped a tick: its previous run is still going", keysAndValues...)
		return
	}
	l.log.Debug("cron: "+msg, keysAndValues...)
}

func (l cronLogger) Error(err error, msg string, keysAndValues ...any) {
	l.log.Error(fmt.Sprintf("cron: %s: %v", msg, err), keysAndValues...)
}
