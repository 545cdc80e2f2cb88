#!/bin/sh
# Rolls an Argo CD application back: Firebreak's rollback remedy as a command hook.
#
#   rollback: {policy: confirm, command: [sh, /etc/firebreak/argocd-rollback.sh, checkout-prod]}
#
# Argument: the Argo CD application (default: $FIREBREAK_SERVICE). Auto-sync is turned off
# first: with it on, Argo CD would sync the application straight back to the bad revision in
# Git, and `argocd app rollback` refuses to run while it is on. Turn it back on once the
# revert is in Git. If turning it off fails, nothing is rolled back (set -e) and Firebreak
# marks the remedy failed with this script's output.
set -eu

app=${1:-${FIREBREAK_SERVICE:-}}
if [ -z "$app" ]; then
	echo "argocd-rollback: name the Argo CD application as the first argument" >&2
	exit 64
fi

echo "turning auto-sync off for $app"
argocd app set "$app" --sync-policy none
echo "rolling $app back (incident ${FIREBREAK_INCIDENT_ID:-?}, from ${FIREBREAK_ROLLBACK_FROM:-?})"
argocd app rollback "$app"
