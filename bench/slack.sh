#!/usr/bin/env bash
# Measures Firebreak's Slack delivery against a fake Slack Web API on loopback
# (bench/slack): the time from the Alertmanager webhook that opens an incident to its
# chat.postMessage, over 200 incidents, on SQLite and on PostgreSQL; then 200 incidents
# opened at once into one channel that takes one message a second (429 with Retry-After: 1
# otherwise), each acknowledged and noted from Slack: every message delivered once, in
# order, and the time it took (about ten minutes: 600 messages at one a second).
# Extra arguments go to every run, e.g.
#   bench/slack.sh -incidents 500 -limited 50
# PostgreSQL comes from FIREBREAK_BENCH_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable).
# Every run is made even when an earlier one failed; the script exits 1 if any did.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

tmp="$(mktemp -d "${TMPDIR:-/tmp}/firebreak-bench.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/slack" ./bench/slack

status=0
for run in "-db sqlite -mode latency" "-db postgres -mode latency" "-db sqlite -mode ratelimit"; do
	# shellcheck disable=SC2086 # $run is a list of flags
	"$tmp/slack" $run "$@" || status=1
	echo
done
exit "$status"
