#!/usr/bin/env bash
# Builds firebreak once and runs the alert-ingestion benchmark (bench/alertload) four times:
# SQLite on an empty database, SQLite with 1,000,000 alert rows stored first, PostgreSQL on
# an empty schema (each also measures the decode-only handler and prints the ratio), then an
# Alertmanager HA pair's twin notifications on two PostgreSQL replicas for 15 s.
#   bench/alerts.sh                   # 16 senders × 10 alerts a request, 10 s a target
#   bench/alerts.sh -duration 30s     # any alertload flag is passed to every run
# PostgreSQL comes from FIREBREAK_BENCH_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

tmp="$(mktemp -d "${TMPDIR:-/tmp}/firebreak-alerts.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/firebreak" ./cmd/firebreak
go build -o "$tmp/alertload" ./bench/alertload

# A failed run does not stop the others; the script exits 1 at the end if any failed.
status=0

echo "== SQLite, empty database"
"$tmp/alertload" -bin "$tmp/firebreak" -db sqlite "$@" | tee "$tmp/sqlite-empty.txt" || status=1
# The prefilled run is judged against the empty run's alerts/s (target: at least 80 %).
baseline="$(sed -n 's/^result .* alerts_per_sec=\([0-9.]*\) .*/\1/p' "$tmp/sqlite-empty.txt")"

echo
echo "== SQLite, 1,000,000 alert rows stored first"
"$tmp/alertload" -bin "$tmp/firebreak" -db sqlite -prefill 1000000 -baseline "${baseline:-0}" "$@" || status=1

echo
echo "== PostgreSQL, empty schema"
"$tmp/alertload" -bin "$tmp/firebreak" -db postgres "$@" || status=1

echo
echo "== PostgreSQL, two replicas, every payload sent to both (HA twins)"
"$tmp/alertload" -bin "$tmp/firebreak" -db postgres -twins -duration 15s "$@" || status=1

exit "$status"
