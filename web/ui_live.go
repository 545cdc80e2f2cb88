package web

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"firebreak/incidents"
)

// livePoll is how often a live stream looks at the database for something new.
const livePoll = 1500 * time.Millisecond

// sse streams rendered fragments as server-sent events: poll returns the fragments that are
// new since the last call. It ends when the client goes away (a write fails), at Shutdown,
// or after an hour (the browser reconnects).
func (s *Server) sse(c *fiber.Ctx, poll func(ctx context.Context) ([]string, error)) error {
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no")
	stop := s.stopLive
	log := s.log
	open := s.metrics.liveStreams
	open.Inc()
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer open.Dec()
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		tick := time.NewTicker(livePoll)
		defer tick.Stop()
		fmt.Fprint(w, "retry: 3000\n\n")
		if w.Flush() != nil {
			return
		}
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			frags, err := poll(ctx)
			if err != nil {
				log.Warn("live update poll failed", "err", err)
			}
			for _, f := range frags {
				fmt.Fprintf(w, "event: row\ndata: %s\n\n", strings.ReplaceAll(f, "\n", " "))
			}
			// A comment line keeps proxies from timing out and finds a client gone away.
			fmt.Fprint(w, ": ping\n\n")
			if w.Flush() != nil {
				return
			}
		}
	})
	return nil
}

func execFragment(t *template.Template, name string, v any) (string, error) {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

// incidentsLive streams new incidents matching the list's filters as table rows.
func (s *Server) incidentsLive(c *fiber.Ctx) error {
	f, _, err := s.incidentFilter(c)
	if err != nil {
		return err
	}
	// The page names the newest incident it showed, so one opened between the page and the
	// stream's start is still sent; without it the stream starts from the newest now.
	newest, err := afterQuery(c)
	if err != nil {
		return err
	}
	if newest < 0 {
		if newest, err = s.newestIncident(c.UserContext(), f); err != nil {
			return err
		}
	}
	t := templates()["incidents"]
	return s.sse(c, func(ctx context.Context) ([]string, error) {
		g := f
		g.Before, g.Limit = 0, 50
		list, _, err := s.deps.Incidents.List(ctx, g)
		if err != nil {
			return nil, err
		}
		var out []string
		for i := len(list) - 1; i >= 0; i-- {
			if list[i].ID > newest {
				row, err := execFragment(t, "incident-row", list[i])
				if err != nil {
					return out, err
				}
				out = append(out, row)
				newest = list[i].ID
			}
		}
		return out, nil
	})
}

// afterQuery reads after=, the id of the last row the page showed; -1 when absent.
func afterQuery(c *fiber.Ctx) (int64, error) {
	raw := c.Query("after")
	if raw == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest("after=%q is not an id", raw)
	}
	return n, nil
}

func (s *Server) newestIncident(ctx context.Context, f incidents.Filter) (int64, error) {
	f.Before, f.Limit = 0, 1
	list, _, err := s.deps.Incidents.List(ctx, f)
	if err != nil || len(list) == 0 {
		return 0, err
	}
	return list[0].ID, nil
}

// timelineLive streams the incident's new timeline events as list items.
func (s *Server) timelineLive(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	// As for the list: the page names its last event, so none falls between the two.
	last, err := afterQuery(c)
	if err != nil {
		return err
	}
	if last < 0 {
		tl, err := s.deps.Incidents.Timeline(c.UserContext(), id)
		if err != nil {
			return err
		}
		last = 0
		if len(tl) > 0 {
			last = tl[len(tl)-1].ID
		}
	}
	t := templates()["incident"]
	return s.sse(c, func(ctx context.Context) ([]string, error) {
		tl, err := s.deps.Incidents.Timeline(ctx, id)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, ev := range tl {
			if ev.ID > last {
				li, err := execFragment(t, "event", ev)
				if err != nil {
					return out, err
				}
				out = append(out, li)
				last = ev.ID
			}
		}
		return out, nil
	})
}
