// Package slackfake is a stand-in for Slack's Web API on loopback, for tests and benchmarks:
// it answers the methods Firebreak calls (chat.postMessage, chat.update, chat.postEphemeral,
// conversations.create/invite/history/replies/list, pins.add, users.info,
// usergroups.users.list, views.open, conversations.archive) and requests' response URLs like Slack does, records
// every call with its arguments, gives messages microsecond-resolution timestamps, and can
// be told to answer 429 with Retry-After, to answer 5xx, to be down, to be slow, or to do
// what was asked and lose the answer. slack-go's own slacktest lacks chat.update and
// conversations.replies and stamps messages a second apart.
//
// Point slack-go at it with slack.OptionAPIURL(fake.APIURL()) (Firebreak's slack.api_url).
package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Call is one request the fake received.
type Call struct {
	Method string
	// Args are the form fields; for a JSON body, its top-level fields (objects as JSON).
	Args url.Values
	At   time.Time
	// Status is what the fake answered; OK whether Slack's answer said ok.
	Status int
	OK     bool
	// Error is Slack's error code when OK is false.
	Error string
}

// Message is a message posted to a channel, as it is now.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string
	Text     string
	// Blocks is the message's Block Kit JSON.
	Blocks   json.RawMessage
	Metadata json.RawMessage
	// Updates counts the chat.update calls it received.
	Updates int
	// Broadcast: a thread reply also sent to the channel (reply_broadcast).
	Broadcast bool
}

// User is a Slack user users.info answers about.
type User struct {
	ID          string
	Name        string
	RealName    string
	DisplayName string
}

type channel struct {
	id, name string
	members  map[string]bool
	pins     map[string]bool
	archived bool
}

type failure struct {
	method     string
	times      int
	status     int
	retryAfter int
	// lose: do what was asked, then answer status anyway (the answer is lost).
	lose bool
}

// Server is the fake Slack.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	calls    []Call
	lastTS   int64
	nextID   int
	channels map[string]*channel // by id
	byName   map[string]string
	messages []*Message
	users    map[string]User
	groups   map[string][]string
	watchers []func(Call)

	down      bool
	failures  []*failure
	intervals map[string]time.Duration // method → minimum time between accepted calls per channel
	accepted  map[string]time.Time     // method+channel → last accepted
	delays    map[string]time.Duration // method → delay before answering
	missing   map[string]bool          // methods answered missing_scope
}

// New starts a fake on 127.0.0.1; it stops when Close is called.
func New() *Server {
	f := &Server{channels: map[string]*channel{}, byName: map[string]string{}, users: map[string]User{},
		groups: map[string][]string{}, intervals: map[string]time.Duration{}, accepted: map[string]time.Time{},
		delays: map[string]time.Duration{}, missing: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// Close stops the server.
func (f *Server) Close() { f.srv.Close() }

// URL is the server's base URL.
func (f *Server) URL() string { return f.srv.URL }

// APIURL is the Web API's base URL for slack-go (OptionAPIURL) and slack.api_url.
func (f *Server) APIURL() string { return f.srv.URL + "/api/" }

// ResponseURL is a response_url the fake answers, for a request numbered n.
func (f *Server) ResponseURL(n int) string { return f.srv.URL + "/response/" + strconv.Itoa(n) }

// AddUser makes users.info know a user.
func (f *Server) AddUser(u User) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[u.ID] = u
}

// AddGroup makes usergroups.users.list know a user group's members.
func (f *Server) AddGroup(id string, members ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups[id] = members
}

// AddChannel creates a channel and returns its id.
func (f *Server) AddChannel(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addChannelLocked(strings.TrimPrefix(name, "#")).id
}

// Fail makes the next times calls of method answer status: 429 with Retry-After seconds
// when retryAfter > 0, a 5xx with an HTML body as Slack's load balancers send.
func (f *Server) Fail(method string, times, status, retryAfter int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, &failure{method: method, times: times, status: status, retryAfter: retryAfter})
}

// LoseAnswers makes the next times calls of method do what they ask and then answer 500,
// as when Slack acted but its answer never arrived.
func (f *Server) LoseAnswers(method string, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, &failure{method: method, times: times, status: http.StatusInternalServerError, lose: true})
}

// SetDown makes every Web API call answer 503 while down is true.
func (f *Server) SetDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// LimitPerChannel lets at most one call of method per interval into each channel; others
// answer 429 with Retry-After (whole seconds, at least 1), as chat.postMessage's limit of
// about one message a second per channel.
func (f *Server) LimitPerChannel(method string, interval time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.intervals[method] = interval
}

// Delay makes calls of method wait d before answering.
func (f *Server) Delay(method string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delays[method] = d
}

// MissingScope makes calls of method answer missing_scope.
func (f *Server) MissingScope(method string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.missing[method] = true
}

// Watch calls fn with every call as it is answered (in the request's goroutine).
func (f *Server) Watch(fn func(Call)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watchers = append(f.watchers, fn)
}

func (f *Server) serve(w http.ResponseWriter, r *http.Request) {
	args, err := readArgs(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	method, isAPI := strings.CutPrefix(r.URL.Path, "/api/")
	if !isAPI {
		method = "response_url"
		if !strings.HasPrefix(r.URL.Path, "/response/") {
			http.NotFound(w, r)
			return
		}
		args.Set("response_url", r.URL.Path)
	}
	f.mu.Lock()
	delay := f.delays[method]
	f.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	call := Call{Method: method, Args: args, At: time.Now()}
	status, header, body := f.answer(&call, r)
	call.Status = status
	f.mu.Lock()
	f.calls = append(f.calls, call)
	watchers := append([]func(Call){}, f.watchers...)
	f.mu.Unlock()
	for _, fn := range watchers {
		fn(call)
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// answer decides the status and body of a call, applying failures first.
func (f *Server) answer(call *Call, r *http.Request) (int, http.Header, []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := http.Header{}
	if call.Method != "response_url" {
		if f.down {
			h.Set("Content-Type", "text/html")
			return http.StatusServiceUnavailable, h, []byte("<html>Slack is down</html>")
		}
		if tok := call.Args.Get("token"); tok == "" && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			return f.jsonLocked(call, h, map[string]any{"ok": false, "error": "not_authed"})
		}
	}
	var lost *failure
	for _, fl := range f.failures {
		if fl.times <= 0 || fl.method != call.Method {
			continue
		}
		fl.times--
		if fl.lose {
			lost = fl
			break
		}
		if fl.retryAfter > 0 {
			h.Set("Retry-After", strconv.Itoa(fl.retryAfter))
		}
		h.Set("Content-Type", "text/html")
		return fl.status, h, []byte("<html>error</html>")
	}
	if f.missing[call.Method] {
		return f.jsonLocked(call, h, map[string]any{"ok": false, "error": "missing_scope"})
	}
	if iv := f.intervals[call.Method]; iv > 0 {
		key := call.Method + "\x00" + f.resolveLocked(call.Args.Get("channel"))
		if last, ok := f.accepted[key]; ok {
			if wait := iv - time.Since(last); wait > 0 {
				h.Set("Retry-After", strconv.Itoa(max(1, int((wait+time.Second-1)/time.Second))))
				return http.StatusTooManyRequests, h, nil
			}
		}
		f.accepted[key] = time.Now()
	}
	out := f.methodLocked(call)
	if lost != nil {
		h.Set("Content-Type", "text/html")
		return lost.status, h, []byte("<html>answer lost</html>")
	}
	return f.jsonLocked(call, h, out)
}

func (f *Server) jsonLocked(call *Call, h http.Header, out map[string]any) (int, http.Header, []byte) {
	call.OK, _ = out["ok"].(bool)
	call.Error, _ = out["error"].(string)
	raw, _ := json.Marshal(out)
	h.Set("Content-Type", "application/json")
	return http.StatusOK, h, raw
}

// readArgs reads a form body, or a JSON body's top-level fields.
func readArgs(r *http.Request) (url.Values, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("body is not JSON: %w", err)
		}
		args := url.Values{}
		for k, v := range m {
			var s string
			if json.Unmarshal(v, &s) == nil {
				args.Set(k, s)
			} else {
				args.Set(k, string(v))
			}
		}
		return args, nil
	}
	args, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, fmt.Errorf("body is not a form: %w", err)
	}
	for k, v := range r.URL.Query() {
		args[k] = v
	}
	return args, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
