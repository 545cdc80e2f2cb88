// Package statuspage is Firebreak's public status page: the snapshot the platform publishes
// (Snapshot), the renderers that turn one snapshot into the whole site (HTML pages, Atom
// and RSS feeds, Atlassian Statuspage's public v2 JSON), the status-server that receives
// signed snapshots and serves that site from memory (Server), and the static export
// (WriteSite).
//
// It imports nothing of the platform (no store, no domain package, no config): the
// status-server runs on another host and must keep serving when the platform is down. The
// platform side, statuspage/publish, builds a Snapshot from incidents and pushes it.
//
// # Publishing
//
// The platform POSTs the JSON encoding of a Snapshot to PushPath with two headers (the
// scheme of firebreak/notify/webhook):
//
//	X-Firebreak-Timestamp: <Unix seconds>
//	X-Firebreak-Signature: sha256=<hex HMAC-SHA256 of timestamp + "." + body, keyed by the shared secret>
//
// Answers: 200 {"sequence": N} when accepted (saved to disk, then served); 401 for a
// missing, wrong or stale signature (more than 5 minutes from the server's clock); 409 when
// sequence is not greater than the last accepted one (replays, pushes out of order); 413 past
// MaxPushBytes (32 MiB by default); 415 for a Content-Encoding; 400 with the list of
// problems when the snapshot fails Validate; 503 while the server is still loading. A
// refused push changes nothing.
//
// A minimal snapshot (see Snapshot for every field and its rules):
//
//	{
//	  "sequence": 42,
//	  "generated_at": "2024-05-10T18:00:00Z",
//	  "page": {"id": "fbstatus0001", "name": "Example Status", "url": "https://status.example.com", "time_zone": "Europe/Berlin"},
//	  "groups": [{"id": "shop", "name": "Shop", "position": 1, "created_at": "…", "updated_at": "…"}],
//	  "components": [{"id": "checkout", "name": "Checkout", "group_id": "shop", "status": "partial_outage",
//	                  "position": 1, "showcase": true, "created_at": "…", "updated_at": "…",
//	                  "status_periods": [{"status": "partial_outage", "from": "2024-05-10T17:40:00Z", "until": null}]}],
//	  "incidents": [{"id": "inc42", "name": "Checkout errors", "status": "identified", "impact": "major",
//	                 "created_at": "…", "updated_at": "…", "component_ids": ["checkout"],
//	                 "updates": [{"id": "u1", "status": "identified", "body": "…", "display_at": "…"}]}],
//	  "scheduled_maintenances": []
//	}
//
// # What the server derives
//
// The snapshot carries facts; everything computed is computed here, once per snapshot:
// group statuses (worst member), the overall indicator and its fixed description (Status,
// following Statuspage's rules), page.updated_at (latest updated_at of anything), v2 ids and
// page_id fields, shortlinks left empty (the incident's page), list order and the 50-item
// cut of incidents.json and scheduled-maintenances.json, and the 90-day uptime bars from each
// component's StatusPeriods (major outage counts fully, partial outage at 0.3, degraded
// performance and maintenance as up; days in the page's time zone).
//
// # Serving
//
// Render builds a Site: every response with its gzip encoding and ETag, held in memory.
// Incident pages and older history pages are rendered on first request and kept with the
// site. Serving is a map lookup, so its cost does not grow with the history.
package statuspage
