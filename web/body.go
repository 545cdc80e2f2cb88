package web

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// The server streams request bodies (fiber's StreamRequestBody): fasthttp reads the headers
// and at most 8 KiB of the body before a handler runs, so a route decides how much it takes
// before anything more is read. Every route that takes a body reads it through takeBody,
// which checks Content-Length against the route's own limit, inflates gzip once with the
// limit applied to the inflated bytes, and refuses other encodings. fasthttp's and fiber's
// own decompression (c.Body() inflates gzip, deflate and brotli, nested ones too) has no
// limit at all, which is why takeBody hands the handler an already decoded body.

const bodyKey = "firebreak.body"

// requestBody is the streamed body of one request and how much of it has been read.
type requestBody struct {
	stream io.Reader
	// declared is the Content-Length, or -1 for a chunked body.
	declared int
	read     int
	// finished: read to its end, or handed to fasthttp as a decoded body, after which the
	// stream belongs to fasthttp again and must not be touched.
	finished bool
	// decoded is the body takeBody read, decompressed.
	decoded []byte
}

func (b *requestBody) Read(p []byte) (int, error) {
	n, err := b.stream.Read(p)
	b.read += n
	if errors.Is(err, io.EOF) {
		b.finished = true
	}
	return n, err
}

// settleBody runs around every request. When a handler answered without reading the whole
// body (a 401, a 413, a GET that came with a body), the unread bytes are still on the
// connection and would be parsed as the next request. They are discarded, without keeping
// them, when there are at most as many as the largest route takes, so that the client sees
// the answer on a connection that stays usable; past that the connection is closed.
func (s *Server) settleBody(c *fiber.Ctx) error {
	b := &requestBody{stream: c.Context().RequestBodyStream(), declared: c.Request().Header.ContentLength()}
	c.Locals(bodyKey, b)
	err := c.Next()
	if !b.finished && b.stream != nil && !b.discardRest(s.maxBody) {
		c.Context().SetConnectionClose()
	}
	return err
}

// discardRest reads the rest of the body into nothing, up to limit bytes, and reports
// whether it reached the end.
func (b *requestBody) discardRest(limit int) bool {
	if b.declared >= 0 && b.declared-b.read > limit {
		// Known to be too long: reading would only delay the answer.
		return false
	}
	_, err := io.CopyN(io.Discard, b, int64(limit)+1)
	return errors.Is(err, io.EOF)
}

// takeBody reads the request body for a route that takes at most limit bytes (after
// decompression) and leaves it, decoded, where c.Body() finds it: 413 past the limit, 415
// for an encoding other than gzip or for nested encodings.
func (s *Server) takeBody(limit int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		b, _ := c.Locals(bodyKey).(*requestBody)
		if b == nil {
			return errors.New("takeBody without settleBody: the request body has no guard")
		}
		gzipped, err := contentEncoding(c)
		if err != nil {
			return err
		}
		if b.declared > limit {
			return tooLarge(limit, gzipped)
		}
		body := []byte{}
		if b.stream != nil {
			if body, err = readLimited(b, limit, gzipped, b.declared); err != nil {
				return err
			}
		}
		// SetBodyRaw hands the stream back to fasthttp, which has it read to its end now.
		b.finished, b.decoded = true, body
		c.Request().SetBodyRaw(body)
		c.Request().Header.Del(fiber.HeaderContentEncoding)
		return c.Next()
	}
}

// bodyOf is the request body as takeBody read it. Handlers use it rather than c.Body(), which
// under Immutable copies the body on every call: takeBody allocated this one for this
// request alone, so nothing reuses it.
func bodyOf(c *fiber.Ctx) []byte {
	if b, _ := c.Locals(bodyKey).(*requestBody); b != nil && b.finished && b.decoded != nil {
		return b.decoded
	}
	return c.Body()
}

// readLimited reads r to its end, inflating it when gzipped, and fails with 413 when the
// bytes read or inflated exceed limit. declared is the Content-Length, or -1 if unknown.
func readLimited(r io.Reader, limit int, gzipped bool, declared int) ([]byte, error) {
	if !gzipped && declared >= 0 {
		// Its length is known, and within the limit (takeBody checked): one allocation.
		body := make([]byte, declared)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, badRequest("could not read the request body: %v", err)
		}
		return body, nil
	}
	raw := &cappedReader{r: r, left: limit}
	var src io.Reader = raw
	if gzipped {
		zr, err := gzip.NewReader(raw)
		if err != nil {
			return nil, gzipError(err, limit)
		}
		defer zr.Close()
		src = zr
	}
	body, over, err := readBlocks(src, limit)
	switch {
	case err != nil && gzipped:
		return nil, gzipError(err, limit)
	case errors.Is(err, errCapped):
		return nil, tooLarge(limit, false)
	case err != nil:
		return nil, badRequest("could not read the request body: %v", err)
	case over:
		if limit >= bigRefusal {
			// The refused body held up to its limit; give that back now rather than at the
			// next collection, so a run of oversized bodies (a gzip bomb, say) costs the
			// limit once, not once per body until the garbage collector catches up.
			debug.FreeOSMemory()
		}
		return nil, tooLarge(limit, gzipped)
	}
	return body, nil
}

// bigRefusal is the limit from which a refused body is worth returning to the OS at once.
const bigRefusal = 8 << 20

// readBlocks reads r to its end, or until it has read more than limit bytes (over). It
// reads into blocks of growing size and joins them once at the end: a body of unknown
// length costs about twice its length, where bytes.Buffer's doubling leaves up to three
// times behind, and one past the limit costs the limit once.
func readBlocks(r io.Reader, limit int) (body []byte, over bool, err error) {
	var blocks [][]byte
	total, size := 0, 4<<10
	for total <= limit {
		block := make([]byte, min(size, limit+1-total))
		n, rerr := io.ReadFull(r, block)
		total += n
		if n > 0 {
			blocks = append(blocks, block[:n])
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return nil, false, rerr
		}
		size = min(size*2, 1<<20)
	}
	if total > limit {
		return nil, true, nil
	}
	switch len(blocks) {
	case 0:
		return []byte{}, false, nil
	case 1:
		return blocks[0], false, nil
	}
	body = make([]byte, 0, total)
	for _, b := range blocks {
		body = append(body, b...)
	}
	return body, false, nil
}

// errCapped is what cappedReader returns once more than its limit was asked of it.
var errCapped = errors.New("request body is larger than the limit")

// cappedReader passes at most left bytes and fails after them: unlike io.LimitReader, a
// body that goes on past the limit is an error, not a quiet end.
type cappedReader struct {
	r    io.Reader
	left int
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// Past the limit only if the body really goes on.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, errCapped
		}
		return 0, err
	}
	if len(p) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= n
	return n, err
}

// gzipError tells a gzip body that grew past the limit (413) from one that could not be
// read or inflated (400: the caller sent it broken, or stopped sending).
func gzipError(err error, limit int) error {
	if errors.Is(err, errCapped) {
		return tooLarge(limit, false)
	}
	return badRequest("the body is not valid gzip (Content-Encoding: gzip): %v", err)
}

func tooLarge(limit int, inflated bool) error {
	if limit == 0 {
		return fiber.NewError(http.StatusRequestEntityTooLarge, "this endpoint takes no request body")
	}
	if inflated {
		return fiber.NewError(http.StatusRequestEntityTooLarge,
			fmt.Sprintf("request body is larger than %d bytes once decompressed", limit))
	}
	return fiber.NewError(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", limit))
}

// contentEncoding reports whether the body is gzipped, and refuses with 415 every other
// coding and any stack of codings: each layer would multiply what one request costs.
func contentEncoding(c *fiber.Ctx) (gzipped bool, err error) {
	var codings []string
	for _, v := range c.Request().Header.PeekAll(fiber.HeaderContentEncoding) {
		for _, part := range strings.Split(string(v), ",") {
			part = strings.ToLower(strings.TrimSpace(part))
			if part != "" && part != "identity" {
				codings = append(codings, part)
			}
		}
	}
	switch {
	case len(codings) == 0:
		return false, nil
	case len(codings) > 1:
		return false, fiber.NewError(http.StatusUnsupportedMediaType, fmt.Sprintf(
			"Content-Encoding %q stacks %d encodings; send the body gzip-compressed once, or not compressed", strings.Join(codings, ", "), len(codings)))
	case codings[0] == "gzip" || codings[0] == "x-gzip":
		return true, nil
	}
	return false, fiber.NewError(http.StatusUnsupportedMediaType, fmt.Sprintf(
		"Content-Encoding %q is not supported; send the body gzip-compressed, or not compressed", codings[0]))
}
