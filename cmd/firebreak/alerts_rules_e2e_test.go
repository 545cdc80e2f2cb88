package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/types"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"firebreak/store"
	"firebreak/store/storetest"
)

// The stories below drive real `firebreak serve` processes with Alertmanager's own webhook
// notifier, through the rules of PRODUCT.md "Alerts": what a notification may hold, what an
// occurrence is, how alerts are grouped, and what replicas must never do.

// TestAlertmanagerGroupOf20000AlertsIsTakenWhole: a route groups 20,000 crash-looping pods
// into one notification of about 20 MB, some with a NUL byte in a label or an annotation.
// Alertmanager drops a notification answered 4xx, so it is taken whole: every alert is
// stored, the NUL bytes as U+FFFD.
func TestAlertmanagerGroupOf20000AlertsIsTakenWhole(t *testing.T) {
	dir := t.TempDir()
	fb := startServe(t, dir)
	am := newAlertmanagerTimeout(t, fb.base, &commoncfg.HTTPClientConfig{
		Authorization: &commoncfg.Authorization{Type: "Bearer", Credentials: commoncfg.Secret(fb.token)}}, 3*time.Minute)
	const n = 20000
	started := time.Now().Add(-5 * time.Minute).UTC().Truncate(time.Second)
	group := make([]*types.Alert, n)
	for i := range group {
		group[i] = podAlert(i, started)
	}
	group[7].Labels["pod"] = "checkout-\x00-7"
	group[8].Annotations["summary"] = "Pod is crash looping\x00."
	am.notify(t, `{}:{alertname="KubePodCrashLooping"}`, model.LabelSet{"alertname": "KubePodCrashLooping"}, group...)

	list := listIncidents(t, fb, fb.token)
	if len(list) != 1 {
		t.Fatalf("%d incidents, want one for the checkout service: %+v", len(list), list)
	}
	inc := getIncident(t, fb, fb.token, list[0].ID)
	if len(inc.Alerts) != n {
		t.Fatalf("incident holds %d alerts, want all %d", len(inc.Alerts), n)
	}
	var pod, summary string
	for _, a := range inc.Alerts {
		switch a.Labels["n"] {
		case "7":
			pod = a.Labels["pod"]
		case "8":
			summary = a.Annotations["summary"]
		}
	}
	if pod != "checkout-\uFFFD-7" || summary != "Pod is crash looping\uFFFD." {
		t.Fatalf("stored pod %q and summary %q, want the NUL bytes as U+FFFD", pod, summary)
	}
	fb.stop()
}

// podAlert is a KubePodCrashLooping alert as kube-prometheus fires it, about 1 KB as JSON.
func podAlert(i int, startsAt time.Time) *types.Alert {
	ns := fmt.Sprintf("team-%03d", i%200)
	pod := fmt.Sprintf("checkout-api-7d9f8b6c5d-%05d", i)
	return &types.Alert{Alert: model.Alert{
		Labels: model.LabelSet{"alertname": "KubePodCrashLooping", "cluster": "prod-eu-west-1", "container": "checkout-api",
			"endpoint": "http", "env": "prod", "instance": model.LabelValue(fmt.Sprintf("10.42.%d.%d:8080", i/256%256, i%256)),
			"job": "kube-state-metrics", "namespace": model.LabelValue(ns), "pod": model.LabelValue(pod), "prometheus": "monitoring/k8s",
			"service": "checkout", "severity": "critical", "n": model.LabelValue(fmt.Sprint(i))},
		Annotations: model.LabelSet{
			"description": model.LabelValue(fmt.Sprintf("Pod %s/%s (checkout-api) is in waiting state (reason: \"CrashLoopBackOff\").", ns, pod)),
			"runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
			"summary":     "Pod is crash looping."},
		StartsAt:     startsAt,
		EndsAt:       time.Now().Add(5 * time.Minute),
		GeneratorURL: "http://prometheus-k8s-0:9090/graph?g0.expr=max_over_time%28kube_pod_container_status_waiting_reason%5B5m%5D%29&g0.tab=1",
	}, UpdatedAt: time.Now()}
}

// TestAlertmanagerHAPairReportsTwoStarts: the two Prometheus servers of an HA pair fire the
// same alert 20 seconds apart, and Alertmanager's notifications carry one start, then the
// other. It is one occurrence: a duplicate, whose stored start (and the incident's impact
// start) moves back to the earlier; the resolve carrying the later start ends it.
func TestAlertmanagerHAPairReportsTwoStarts(t *testing.T) {
	dir := t.TempDir()
	fb := startServe(t, dir)
	am := newAlertmanager(t, fb.base, &commoncfg.HTTPClientConfig{
		Authorization: &commoncfg.Authorization{Type: "Bearer", Credentials: commoncfg.Secret(fb.token)}})
	const groupKey = `{}:{alertname="HighErrorRate"}`
	group := model.LabelSet{"alertname": "HighErrorRate"}
	early := time.Now().Add(-3 * time.Minute).UTC().Truncate(time.Second)
	late := early.Add(20 * time.Second)

	am.notify(t, groupKey, group, firingAlert("a", late))
	list := listIncidents(t, fb, fb.token)
	if len(list) != 1 {
		t.Fatalf("%d incidents, want 1", len(list))
	}
	id := list[0].ID

	am.notify(t, groupKey, group, firingAlert("a", early))
	inc := getIncident(t, fb, fb.token, id)
	if len(inc.Alerts) != 1 || !inc.Alerts[0].StartsAt.Equal(early) || inc.Alerts[0].Repeats != 1 || inc.Alerts[0].Status != "firing" {
		t.Fatalf("alerts %+v, want one firing occurrence from %s, one repeat", inc.Alerts, early)
	}
	if !inc.ImpactStartedAt.Equal(early) {
		t.Fatalf("impact started %s, want %s", inc.ImpactStartedAt, early)
	}
	if kinds := strings.Join(inc.timelineKinds(), ","); kinds != "opened,no_deploy_recorded,impact_start_moved" {
		t.Fatalf("timeline %s, want opened (no deploy on record) and the impact start moved back, no alert line", kinds)
	}

	am.notify(t, groupKey, group, firingAlert("a", late))
	if inc = getIncident(t, fb, fb.token, id); len(inc.Alerts) != 1 || !inc.Alerts[0].StartsAt.Equal(early) || inc.Alerts[0].Repeats != 2 {
		t.Fatalf("alerts %+v, want the start kept at %s and two repeats", inc.Alerts, early)
	}

	ended := time.Now().Add(-time.Second).UTC().Truncate(time.Second)
	am.notify(t, groupKey, group, resolvedAlert(firingAlert("a", late), ended))
	inc = getIncident(t, fb, fb.token, id)
	if len(inc.Alerts) != 1 || inc.Alerts[0].Status != "resolved" || inc.Status != "resolved" {
		t.Fatalf("incident %s with alerts %+v, want the one occurrence resolved, and the incident", inc.Status, inc.Alerts)
	}
	fb.stop()
}

// TestAlertmanagerGroupByAlertnameSplitsServices: the route groups by alertname only, so one
// notification carries HighErrorRate of search and of inventory. Each service gets its own
// incident, with its own deploy as the suspect.
func TestAlertmanagerGroupByAlertnameSplitsServices(t *testing.T) {
	dir := t.TempDir()
	fb := startServe(t, dir)
	am := newAlertmanager(t, fb.base, &commoncfg.HTTPClientConfig{
		Authorization: &commoncfg.Authorization{Type: "Bearer", Credentials: commoncfg.Secret(fb.token)}})
	now := time.Now().UTC().Truncate(time.Second)
	for _, d := range []struct {
		service, version string
		finished         time.Time
	}{{"search", "2.0.0", now.Add(-6 * time.Minute)}, {"inventory", "7.1.0", now.Add(-4 * time.Minute)}} {
		body := fmt.Sprintf(`{"service":%q,"environment":"prod","version":%q,"finished_at":%q}`, d.service, d.version, d.finished.Format(time.RFC3339))
		if code, got := fb.call("POST", "/api/v1/deploys", fb.token, body); code != http.StatusCreated {
			t.Fatalf("record deploy of %s: %d %v", d.service, code, got)
		}
	}
	alert := func(service string) *types.Alert {
		a := firingAlert(service+"-1", now.Add(-2*time.Minute))
		a.Labels["service"] = model.LabelValue(service)
		return a
	}
	am.notify(t, `{}:{alertname="HighErrorRate"}`, model.LabelSet{"alertname": "HighErrorRate"}, alert("search"), alert("inventory"))

	list := listIncidents(t, fb, fb.token)
	if len(list) != 2 {
		t.Fatalf("%d incidents, want one per service: %+v", len(list), list)
	}
	want := map[string]string{"search": "2.0.0", "inventory": "7.1.0"}
	for _, l := range list {
		var inc struct {
			incidentView
			Suspects []struct {
				Deploy struct {
					Service string `json:"service"`
					Version string `json:"version"`
				} `json:"deploy"`
			} `json:"suspects"`
		}
		getJSON(t, fb, fmt.Sprintf("/api/v1/incidents/%d", l.ID), fb.token, &inc)
		version, ok := want[inc.Service]
		if !ok || len(inc.Alerts) != 1 || inc.Alerts[0].Labels["service"] != inc.Service {
			t.Fatalf("incident %+v, want one of search and inventory holding its own alert", inc.incidentView)
		}
		delete(want, inc.Service)
		if len(inc.Suspects) != 1 || inc.Suspects[0].Deploy.Service != inc.Service || inc.Suspects[0].Deploy.Version != version {
			t.Fatalf("%s suspects %+v, want its own deploy %s", inc.Service, inc.Suspects, version)
		}
	}
	fb.stop()
}

// TestTwoReplicasNeverLeaveAFiringAlertInAResolvedIncident: two `serve` replicas on one
// PostgreSQL database. For each of 20 services, one replica gets the resolve of the
// service's only alert (which resolves its incident) while the other gets a new alert of the
// service, all at once. A new alert never joins an incident being resolved: it joins before
// (and the incident stays open) or reopens it after.
func TestTwoReplicasNeverLeaveAFiringAlertInAResolvedIncident(t *testing.T) {
	driver, dsn := storetest.DSN(t, store.Postgres)
	env := "FIREBREAK_DATABASE_URL=" + dsn
	a := startServe(t, t.TempDir(), env)
	b := startServe(t, t.TempDir(), env)
	token := a.token + b.token // the first to start created the admin token
	auth := &commoncfg.HTTPClientConfig{Authorization: &commoncfg.Authorization{Type: "Bearer", Credentials: commoncfg.Secret(token)}}
	amA, amB := newAlertmanager(t, a.base, auth), newAlertmanager(t, b.base, auth)

	ctx := context.Background()
	db, err := store.Open(ctx, driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const services = 20
	for round := range 3 {
		type pair struct {
			groupKey         string
			resolve, newcome *types.Alert
		}
		pairs := make([]pair, services)
		for s := range pairs {
			service := fmt.Sprintf("svc-%d-%02d", round, s)
			first := firingAlert("a", time.Now().Add(-time.Minute).UTC().Truncate(time.Second))
			first.Labels["service"] = model.LabelValue(service)
			next := firingAlert("b", time.Now().UTC().Truncate(time.Second))
			next.Labels["service"] = model.LabelValue(service)
			pairs[s] = pair{groupKey: `{}:{service="` + service + `"}`, resolve: resolvedAlert(first, time.Now().UTC()), newcome: next}
			amA.notify(t, pairs[s].groupKey, model.LabelSet{"service": model.LabelValue(service)}, first)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, 2*services)
		for _, p := range pairs {
			for _, send := range []func() (bool, error){
				func() (bool, error) { return amA.send(p.groupKey, nil, p.resolve) },
				func() (bool, error) { return amB.send(p.groupKey, nil, p.newcome) },
			} {
				wg.Go(func() {
					<-start
					if _, err := send(); err != nil {
						errs <- err
					}
				})
			}
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: a notification failed: %v", round, err)
		}
		var bad []string
		if err := db.R.SelectContext(ctx, &bad, `SELECT a.labels || ' in incident ' || i.id FROM alerts a
			JOIN incidents i ON i.id = a.incident_id WHERE a.status = 'firing' AND i.status = 'resolved'`); err != nil {
			t.Fatal(err)
		}
		if len(bad) > 0 {
			t.Fatalf("round %d: %d firing alerts in resolved incidents, e.g. %s", round, len(bad), bad[0])
		}
	}
	a.stop()
	b.stop()
}
