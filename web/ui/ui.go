// Package ui holds the web UI's templates and static files, embedded in the binary so the
// UI needs no build step and no files beside the binary.
package ui

import "embed"

// Templates are the html/template sources: layout.html and one file per page.
//
//go:embed templates/*.html
var Templates embed.FS

// Static are the files served under /static/: the stylesheet and the script that adds
// live updates (every page works without it).
//
//go:embed static/*
var Static embed.FS
