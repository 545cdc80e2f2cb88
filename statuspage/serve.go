package statuspage

import (
	"bytes"

	"github.com/gofiber/fiber/v2"
)

// Response headers, as bytes so that serving a page copies and allocates nothing.
var (
	hdrETag            = []byte("ETag")
	hdrCacheControl    = []byte("Cache-Control")
	hdrVary            = []byte("Vary")
	hdrContentEncoding = []byte("Content-Encoding")
	hdrACAO            = []byte("Access-Control-Allow-Origin")
	hdrNoSniff         = []byte("X-Content-Type-Options")
	hdrCSP             = []byte("Content-Security-Policy")
	hdrIfNoneMatch     = []byte("If-None-Match")
	hdrAcceptEncoding  = []byte("Accept-Encoding")

	valAcceptEncoding = []byte("Accept-Encoding")
	valGzip           = []byte("gzip")
	valStar           = []byte("*")
	valNoSniff        = []byte("nosniff")
	// Pages run no script and load nothing but their stylesheet, whatever a snapshot holds.
	valCSP = []byte("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
)

// serveSite answers GET and HEAD for every page, feed and v2 endpoint from the rendered
// site: a map lookup and a few headers, whatever the snapshot holds.
func (s *Server) serveSite(c *fiber.Ctx) error {
	req := &c.Request().Header
	if n := req.ContentLength(); n > 0 || n == -1 {
		// No page takes a body; it was not read, so the connection cannot carry another
		// request. (-1 is a chunked body; -2 and 0 mean none.)
		c.Context().SetConnectionClose()
	}
	switch {
	case req.IsGet() || req.IsHead():
	case req.IsOptions():
		// CORS preflight: any site may read the pages and the API with GET.
		c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
		c.Set(fiber.HeaderAccessControlAllowMethods, "GET, HEAD")
		c.Set(fiber.HeaderAccessControlMaxAge, "86400")
		c.Set(fiber.HeaderAllow, "GET, HEAD, OPTIONS")
		return c.SendStatus(fiber.StatusNoContent)
	default:
		c.Set(fiber.HeaderAllow, "GET, HEAD, OPTIONS")
		return fiber.NewError(fiber.StatusMethodNotAllowed, "the status page only answers GET and HEAD")
	}
	site := s.site.Load()
	if site == nil {
		c.Set(fiber.HeaderRetryAfter, "1")
		return fiber.NewError(fiber.StatusServiceUnavailable, "status-server is starting")
	}
	res, err := site.getBytes(c.Context().Path())
	if err == errNoPage {
		c.Status(fiber.StatusNotFound)
		res = site.NotFound()
	} else if err != nil {
		return err
	}
	writeResource(c, res)
	return nil
}

// writeResource sends r, gzipped when the client takes it, or 304 when the client's copy is
// current.
func writeResource(c *fiber.Ctx, r *Resource) {
	req := &c.Request().Header
	h := &c.Response().Header
	h.SetContentTypeBytes(r.contentType)
	h.SetCanonical(hdrETag, r.etag)
	h.SetCanonical(hdrCacheControl, r.cacheControl)
	h.SetCanonical(hdrNoSniff, valNoSniff)
	if r.CORS {
		h.SetCanonical(hdrACAO, valStar)
	}
	if r.HTML {
		h.SetCanonical(hdrCSP, valCSP)
	}
	if r.Gzip != nil {
		h.SetCanonical(hdrVary, valAcceptEncoding)
	}
	if inm := req.PeekBytes(hdrIfNoneMatch); len(inm) > 0 && c.Response().StatusCode() == fiber.StatusOK && etagMatches(inm, r.etag) {
		c.Response().SetStatusCode(fiber.StatusNotModified)
		c.Response().ResetBody()
		return
	}
	if r.Gzip != nil && acceptsGzip(req.PeekBytes(hdrAcceptEncoding)) {
		h.SetCanonical(hdrContentEncoding, valGzip)
		c.Response().SetBodyRaw(r.Gzip)
		return
	}
	c.Response().SetBodyRaw(r.Body)
}

// etagMatches applies If-None-Match's weak comparison: "*", or any listed tag equal to
// etag once "W/" is set aside.
func etagMatches(header, etag []byte) bool {
	etag = bytes.TrimPrefix(etag, []byte("W/"))
	for len(header) > 0 {
		var tag []byte
		tag, header, _ = bytes.Cut(header, []byte(","))
		tag = bytes.TrimSpace(tag)
		if len(tag) == 1 && tag[0] == '*' {
			return true
		}
		if bytes.Equal(bytes.TrimPrefix(tag, []byte("W/")), etag) {
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding: gzip (or x-gzip, or *) listed without q=0.
func acceptsGzip(header []byte) bool {
	for len(header) > 0 {
		var item []byte
		item, header, _ = bytes.Cut(header, []byte(","))
		coding, params, _ := bytes.Cut(item, []byte(";"))
		coding = bytes.TrimSpace(coding)
		if !bytes.EqualFold(coding, valGzip) && !bytes.EqualFold(coding, []byte("x-gzip")) && !bytes.Equal(coding, valStar) {
			continue
		}
		return !zeroQuality(params)
	}
	return false
}

// zeroQuality reports whether parameters say q=0 (q=0, q=0.0, q=0.000).
func zeroQuality(params []byte) bool {
	for len(params) > 0 {
		var p []byte
		p, params, _ = bytes.Cut(params, []byte(";"))
		name, value, ok := bytes.Cut(bytes.TrimSpace(p), []byte("="))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(name), []byte("q")) {
			continue
		}
		value = bytes.TrimSpace(value)
		if len(value) == 0 || value[0] != '0' {
			return false
		}
		return len(bytes.Trim(value[1:], ".0")) == 0
	}
	return false
}
