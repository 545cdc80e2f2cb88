package postmortem

import (
	"bytes"
	"fmt"
	"html/template"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// markdownToHTML is goldmark with GitHub's extensions (tables, task lists, strikethrough,
// autolinks) and its default renderer, which drops raw HTML and dangerous links
// (javascript: and the like): html.WithUnsafe stays off, so what people wrote can carry no
// script into the page and no sanitiser is needed.
var markdownToHTML = goldmark.New(goldmark.WithExtensions(extension.GFM))

// htmlPage is the small document around the rendered sections.
var htmlPage = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Postmortem: {{.Title}} (incident {{.IncidentID}})</title>
<style>
body { font-family: system-ui, sans-serif; line-height: 1.5; color: #1b1f24; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; } h3 { font-size: 1rem; }
table { border-collapse: collapse; } th, td { border: 1px solid #d0d7de; padding: .3rem .6rem; text-align: left; }
blockquote { margin: 1rem 0; padding: .5rem 1rem; background: #fff8c5; border-left: 4px solid #d4a72c; }
code, pre { background: #f6f8fa; } pre { padding: .6rem; overflow-x: auto; }
</style>
</head>
<body>
<main>
{{range .Sections}}<section>
{{.}}</section>
{{end}}</main>
</body>
</html>
`))

// renderHTML renders the report's Markdown as a small HTML document. Each section is
// converted on its own, so an unclosed block in what people wrote (a code fence, an HTML
// block) ends with its section.
func renderHTML(r Report) ([]byte, error) {
	parts, err := markdownSections(r)
	if err != nil {
		return nil, err
	}
	page := struct {
		Title      string
		IncidentID int64
		Sections   []template.HTML
	}{Title: r.Title, IncidentID: r.IncidentID}
	var buf bytes.Buffer
	for _, md := range parts {
		buf.Reset()
		if err := markdownToHTML.Convert([]byte(md), &buf); err != nil {
			return nil, fmt.Errorf("render postmortem %d as HTML: %w", r.IncidentID, err)
		}
		// Safe: goldmark's default renderer escapes text and omits raw HTML.
		page.Sections = append(page.Sections, template.HTML(buf.String()))
	}
	var out bytes.Buffer
	if err := htmlPage.Execute(&out, page); err != nil {
		return nil, fmt.Errorf("render postmortem %d as HTML: %w", r.IncidentID, err)
	}
	return out.Bytes(), nil
}
