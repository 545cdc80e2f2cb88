// Package postmortem writes an incident's postmortem: a report built, each time it is asked
// for, from what Firebreak recorded (the incident and its six moments, alerts, suspected
// deploys, rollbacks, timeline, and the service's earlier incidents), plus the parts people
// write, kept in the database. It renders Markdown (from a text/template), HTML (that
// Markdown through goldmark with GitHub's extensions; raw HTML and javascript: links are
// dropped) and JSON.
//
// A postmortem is a draft until it is published; editing a published one keeps it
// published, with its first publication time. The postmortem of an incident still open can
// be read and edited (it says the incident is open) but not published. Wording is
// blameless: "the deploy of checkout 1.4.2", "responders", never who is at fault.
//
// # JSON
//
// The json format (GET /api/v1/incidents/{id}/postmortem, the answer of PUT and publish, and
// `firebreak postmortem ID --format json`), times RFC 3339 in UTC, durations in seconds,
// null where unknown or not reached yet (testdata/checkout_outage.json.golden is a whole
// example):
//
//	{
//	  "incident_id": 5,
//	  "title": "...",
//	  "status": "draft" | "published",
//	  "published_at": time | null,
//	  "published_by": "carol" | null,
//	  "severity": "sev1".."sev4",
//	  "service": "checkout",
//	  "environment": "prod",
//	  "incident_status": "observing" | "responding" | "remediating" | "resolved",
//	  "summary": "the incident's summary",
//	  "impact": {"started_at": time, "ended_at": time | null (mitigated_at),
//	             "duration_seconds": n | null, "services": ["checkout", ...],
//	             "components": [], "severity": "sev1", "alert_count": 3},
//	  "detection": {"method": "alerts" | "declared", "declared_by": "bob" | null,
//	                "opened_at": time, "time_to_detect_seconds": n,
//	                "alerts": [{"alertname", "count", "first_starts_at"}, ...]},
//	  "response": {"acknowledged_at": time | null, "acknowledged_by": "bob" | null,
//	               "time_to_acknowledge_seconds": n | null, "responders": ["bob", ...],
//	               "mitigated_at": time | null, "resolved_at": time | null, "reopened_count": 0},
//	  "remediation": {"started_at": time | null, "started_by": "bob" | null,
//	                  "rollbacks": [{"id", "deploy_id", "deploy": "checkout 1.4.2 (prod)",
//	                                 "to_version": "1.4.1" | null, "requested_by",
//	                                 "automatic": false, "requested_at", "status",
//	                                 "finished_at", "attempts", "last_error"}]},
//	  "times": {"detect" | "acknowledge" | "mitigate" | "recover":
//	            {"seconds": n | null, "service_90d_average_seconds": n | null,
//	             "service_90d_count": n}},
//	  "suspects": [{"deploy": {...the deploy object...}, "reason", "score"}],
//	  "timeline": [{"id", "at", "actor", "kind", "text", "public"}, ...],
//	  "root_cause": "Markdown", "contributing_factors": "Markdown", "went_well": "Markdown",
//	  "went_badly": "Markdown", "got_lucky": "Markdown",
//	  "action_items": [{"text": "Markdown, one line", "owner": "dana",
//	                    "due": "2026-03-13" | null, "done": false}],
//	  "updated_at": time | null, "updated_by": "alice" | null
//	}
//
// The four times are those of the MTTR report: to detect = opened − impact start; to
// acknowledge = acknowledged − opened; to mitigate = mitigated − impact start; to recover =
// resolved − impact start. service_90d_average_seconds averages the same measure over the
// service's incidents opened in the 90 days before this one that reached it
// (service_90d_count of them); null with a count of 0 when there were none.
//
// # Editing
//
// A PUT body (DecodeEdit) carries some of root_cause, contributing_factors, went_well,
// went_badly, got_lucky and action_items; what it leaves out is unchanged, null clears, and
// action_items replaces the whole list. Unknown keys, wrong types, a due date that is not
// YYYY-MM-DD and texts over MaxText characters are refused, naming the field.
package postmortem
