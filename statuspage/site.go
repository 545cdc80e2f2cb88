package statuspage

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A Site is every response of the status page for one snapshot, rendered once and then
// served from memory: serving costs the same whatever the history holds. The front page,
// feeds, v2 JSON and stylesheet are rendered at once; the page of each incident and each
// page of the history when first asked for, then kept until the next snapshot replaces the
// site.
type Site struct {
	view     *view
	history  []historyRef
	events   map[string]historyRef // by incident or maintenance id
	fixed    map[string]*Resource
	lazy     sync.Map // path → *Resource
	notFound *Resource
}

// Resource is one response body with what it is served with.
type Resource struct {
	// ContentType is the Content-Type header.
	ContentType string
	// Body is the identity encoding; Gzip the gzip encoding, nil when it would not be
	// smaller.
	Body []byte
	Gzip []byte
	// ETag is a weak validator of the content, shared by both encodings.
	ETag string
	// CacheControl is the Cache-Control header.
	CacheControl string
	// CORS: the response may be read by scripts of any site (the JSON API and the feeds).
	CORS bool
	// HTML pages also get a Content-Security-Policy header.
	HTML bool

	// The headers as bytes, so that serving copies nothing.
	contentType, etag, cacheControl []byte
}

// Content types and caching of what the site serves.
const (
	typeHTML = "text/html; charset=utf-8"
	typeJSON = "application/json; charset=utf-8"
	typeAtom = "application/atom+xml; charset=utf-8"
	typeRSS  = "application/rss+xml; charset=utf-8"
	typeCSS  = "text/css; charset=utf-8"

	// Everything but the stylesheet changes with the next push; clients revalidate with
	// the ETag after a few seconds.
	cacheShort = "public, max-age=10"
	// The stylesheet's address changes with its content.
	cacheForever = "public, max-age=31536000, immutable"
)

// minGzip is the size under which compressing is not worth a header.
const minGzip = 256

// newResource prepares body for serving: its validator and its gzip encoding.
func newResource(contentType, cacheControl string, body []byte, cors bool) *Resource {
	sum := sha256.Sum256(body)
	r := &Resource{
		ContentType: contentType, Body: body, CacheControl: cacheControl, CORS: cors,
		ETag: `W/"` + hex.EncodeToString(sum[:12]) + `"`,
		HTML: contentType == typeHTML,
	}
	if len(body) >= minGzip {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression) // a valid level: no error
		zw.Write(body)
		zw.Close()
		if b.Len() < len(body) {
			r.Gzip = b.Bytes()
		}
	}
	r.contentType, r.etag, r.cacheControl = []byte(r.ContentType), []byte(r.ETag), []byte(r.CacheControl)
	return r
}

// Render checks snap and renders its site. What the snapshot leaves empty (title, URL)
// comes from d. A snapshot that fails Validate gives an *InvalidError.
func Render(snap Snapshot, d Defaults) (*Site, error) {
	if err := Validate(snap); err != nil {
		return nil, err
	}
	return renderView(buildView(snap, d))
}

// EmptySite is what status-server shows before its first push: the configured title, no
// components, "All Systems Operational", last changed at now.
func EmptySite(d Defaults, now time.Time) (*Site, error) {
	return renderView(buildView(Snapshot{GeneratedAt: now}, d))
}

func renderView(v *view) (*Site, error) {
	s := &Site{view: v, history: v.history(), fixed: map[string]*Resource{}}
	s.events = make(map[string]historyRef, len(s.history))
	for _, r := range s.history {
		s.events[r.id] = r
	}
	index, err := v.indexHTML()
	if err != nil {
		return nil, err
	}
	s.fixed["/"] = newResource(typeHTML, cacheShort, index, false)
	first, err := v.historyHTML(s.history, 1)
	if err != nil {
		return nil, err
	}
	s.fixed["/history"] = newResource(typeHTML, cacheShort, first, false)
	atom, rss, err := v.atomAndRSS(s.history)
	if err != nil {
		return nil, err
	}
	s.fixed["/history.atom"] = newResource(typeAtom, cacheShort, atom, true)
	s.fixed["/history.rss"] = newResource(typeRSS, cacheShort, rss, true)
	docs, err := v.v2JSON()
	if err != nil {
		return nil, err
	}
	for path, doc := range docs {
		s.fixed[path] = newResource(typeJSON, cacheShort, doc, true)
	}
	s.fixed[stylePath] = newResource(typeCSS, cacheForever, styleCSS, false)
	nf, err := v.notFoundHTML()
	if err != nil {
		return nil, err
	}
	s.notFound = newResource(typeHTML, cacheShort, nf, false)
	return s, nil
}

// Sequence is the sequence number of the snapshot shown; 0 for the empty site.
func (s *Site) Sequence() int64 { return s.view.snap.Sequence }

// Status is the page's overall status.
func (s *Site) Status() Status { return s.view.status }

// NotFound is the page served for unknown addresses (with status 404).
func (s *Site) NotFound() *Resource { return s.notFound }

// errNoPage: the site has nothing at that path.
var errNoPage = errors.New("no such page")

// Get returns the resource at path ("/", "/incidents/abc", "/api/v2/status.json"); a
// trailing slash is ignored. It renders incident and history pages on first use.
func (s *Site) Get(path string) (*Resource, error) {
	if r := s.fixed[path]; r != nil {
		return r, nil
	}
	if len(path) > 1 && strings.HasSuffix(path, "/") {
		path = strings.TrimSuffix(path, "/")
		if r := s.fixed[path]; r != nil {
			return r, nil
		}
	}
	if r, ok := s.lazy.Load(path); ok {
		return r.(*Resource), nil
	}
	body, err := s.renderLazy(path)
	if err != nil {
		return nil, err
	}
	// Two requests racing here render the same bytes; the first stored wins.
	r, _ := s.lazy.LoadOrStore(path, newResource(typeHTML, cacheShort, body, false))
	return r.(*Resource), nil
}

// getBytes is Get for a path held as bytes, without copying it when the page is fixed.
func (s *Site) getBytes(path []byte) (*Resource, error) {
	if r := s.fixed[string(path)]; r != nil {
		return r, nil
	}
	return s.Get(string(path))
}

func (s *Site) renderLazy(path string) ([]byte, error) {
	if id, ok := strings.CutPrefix(path, "/incidents/"); ok {
		if r, found := s.events[id]; found {
			return s.view.incidentHTML(r)
		}
		return nil, errNoPage
	}
	if n, ok := strings.CutPrefix(path, "/history/"); ok {
		page, err := strconv.Atoi(n)
		if err != nil || page < 2 || page > historyPages(len(s.history)) || strconv.Itoa(page) != n {
			return nil, errNoPage
		}
		return s.view.historyHTML(s.history, page)
	}
	return nil, errNoPage
}

// Paths lists every address of the site: what the static export writes.
func (s *Site) Paths() []string {
	paths := make([]string, 0, len(s.fixed)+len(s.history)+historyPages(len(s.history)))
	for p := range s.fixed {
		paths = append(paths, p)
	}
	for n := 2; n <= historyPages(len(s.history)); n++ {
		paths = append(paths, historyPath(n))
	}
	for _, r := range s.history {
		paths = append(paths, "/incidents/"+r.id)
	}
	return paths
}
