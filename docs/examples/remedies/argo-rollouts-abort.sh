#!/bin/sh
# Aborts an Argo Rollouts canary: Firebreak's abort_canary remedy as a command hook.
#
#   actions:
#     abort_canary: {policy: auto, command: [sh, /etc/firebreak/argo-rollouts-abort.sh, checkout, shop]}
#
# Arguments: the Rollout's name (default: $FIREBREAK_SERVICE) and its namespace (optional).
# Firebreak runs the argv directly, without a shell, with FIREBREAK_* variables set and only
# PATH, HOME, LANG and TZ inherited: give kubectl its kubeconfig through HOME or a flag here.
# Exit 0 tells Firebreak the abort was done; any other exit marks the remedy failed.
set -eu

rollout=${1:-${FIREBREAK_SERVICE:-}}
namespace=${2:-}
if [ -z "$rollout" ]; then
	echo "argo-rollouts-abort: name the Rollout as the first argument" >&2
	exit 64
fi

echo "aborting rollout $rollout (incident ${FIREBREAK_INCIDENT_ID:-?}, deploy ${FIREBREAK_DEPLOY_ID:-?})"
if [ -n "$namespace" ]; then
	exec kubectl argo rollouts abort "$rollout" --namespace "$namespace"
fi
exec kubectl argo rollouts abort "$rollout"
