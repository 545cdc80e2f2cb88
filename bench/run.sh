#!/usr/bin/env bash
# Builds firebreak once and runs the incident-flow load benchmark against it:
#   bench/run.sh                      # SQLite and PostgreSQL, 16 clients, 10 s each
#   bench/run.sh -db sqlite -duration 30s
# PostgreSQL comes from FIREBREAK_BENCH_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

tmp="$(mktemp -d "${TMPDIR:-/tmp}/firebreak-bench.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/firebreak" ./cmd/firebreak
go run ./bench/incidentload -bin "$tmp/firebreak" "$@"
