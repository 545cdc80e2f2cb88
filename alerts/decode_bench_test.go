package alerts_test

import (
	"bytes"
	stdjson "encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/alertmanager/template"

	"firebreak/alerts"
)

// webhookBody is a notification as Alertmanager sends it for a group of n alerts: pods of
// one service crash looping, with the labels kube-prometheus puts on such an alert and the
// annotations of its rule.
func webhookBody(n int) []byte {
	startsAt := time.Date(2026, 11, 18, 9, 41, 3, 118000000, time.UTC)
	common := template.KV{"alertname": "KubePodCrashLooping", "cluster": "prod-eu-1", "container": "checkout",
		"job": "kube-state-metrics", "namespace": "checkout", "prometheus": "monitoring/k8s", "service": "checkout", "severity": "critical"}
	msg := webhook.Message{Version: "4", GroupKey: `{}/{severity=~"critical|warning"}:{alertname="KubePodCrashLooping", service="checkout"}`,
		Data: &template.Data{
			Receiver: "firebreak", Status: "firing", ExternalURL: "http://alertmanager-main-0:9093",
			GroupLabels: template.KV{"alertname": "KubePodCrashLooping", "service": "checkout"}, CommonLabels: common,
			CommonAnnotations: template.KV{"summary": "Pod is crash looping.", "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping"},
		}}
	for i := 0; i < n; i++ {
		pod := fmt.Sprintf("checkout-5c8d9f7b4-%05d", i)
		labels := template.KV{"endpoint": "http", "instance": fmt.Sprintf("10.42.%d.%d:8080", i/250, i%250), "pod": pod, "uid": fmt.Sprintf("6f1c2a9e-%04x-4b7d-9e21-%012x", i, i)}
		for k, v := range common {
			labels[k] = v
		}
		msg.Alerts = append(msg.Alerts, template.Alert{
			Status: "firing",
			Labels: labels,
			Annotations: template.KV{
				"summary":     "Pod is crash looping.",
				"description": fmt.Sprintf("Pod checkout/%s (checkout) is in waiting state (reason: \"CrashLoopBackOff\").", pod),
				"runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
			},
			StartsAt:     startsAt.Add(time.Duration(i) * 1234567 * time.Nanosecond),
			GeneratorURL: "http://prometheus-k8s-0:9090/graph?g0.expr=max_over_time%28kube_pod_container_status_waiting_reason%7Breason%3D%22CrashLoopBackOff%22%7D%5B5m%5D%29+%3E%3D+1&g0.tab=1",
			Fingerprint:  fmt.Sprintf("%016x", 0x0b6e3f2a91c40000+uint64(i)),
		})
	}
	body, err := stdjson.Marshal(msg)
	if err != nil {
		panic(err)
	}
	return body
}

// decodeVia is Decode with its JSON step done by unmarshal, which must refuse data after
// the object as encoding/json.Unmarshal does: the measure of what another decoder would
// cost Decode, validation included.
func decodeVia(unmarshal func([]byte, any) error) func([]byte) (alerts.Payload, error) {
	return func(body []byte) (alerts.Payload, error) {
		var p alerts.Payload
		if err := unmarshal(body, &p); err != nil {
			return alerts.Payload{}, err
		}
		if err := p.Validate(); err != nil {
			return alerts.Payload{}, err
		}
		return p, nil
	}
}

// decoders are Decode and what it was measured against: encoding/json as Decode used it
// before (its reference) and encoding/json's Unmarshal. segmentio/encoding was measured too
// and left out: about twice as fast as encoding/json, but it allocates twice as much (every
// map made for 64 entries) and recurses without limit into nested arrays, so that a 10 MiB
// body of "[" overflows the stack and kills the process.
var decoders = []struct {
	name   string
	decode func([]byte) (alerts.Payload, error)
}{
	{"encoding-json-Decoder", decodeWithEncodingJSON},
	{"encoding-json-Unmarshal", decodeVia(stdjson.Unmarshal)},
	{"Decode-go-json", alerts.Decode},
}

// BenchmarkDecode measures decoding and validating a notification of 10, 100 and 1000
// alerts with each decoder; compare the ratios of one run (bench/README.md).
func BenchmarkDecode(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		body := webhookBody(n)
		want, err := decodeWithEncodingJSON(body)
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range decoders {
			b.Run(fmt.Sprintf("alerts=%d/%s", n, d.name), func(b *testing.B) {
				if p, err := d.decode(body); err != nil || len(p.Alerts) != len(want.Alerts) {
					b.Fatalf("%s: %d alerts, %v", d.name, len(p.Alerts), err)
				}
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := d.decode(body); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDecodeRefused measures a body refused for a wrong type in its last alert, which
// Decode reads twice (go-json, then encoding/json for the message).
func BenchmarkDecodeRefused(b *testing.B) {
	body := webhookBody(100)
	at := bytes.LastIndex(body, []byte(`"status":"firing"`))
	body = append(body[:at:at], append([]byte(`"status":1`), body[at+len(`"status":"firing"`):]...)...)
	for _, d := range []struct {
		name   string
		decode func([]byte) (alerts.Payload, error)
	}{{"encoding-json-Decoder", decodeWithEncodingJSON}, {"Decode-go-json", alerts.Decode}} {
		b.Run(d.name, func(b *testing.B) {
			if _, err := d.decode(body); err == nil {
				b.Fatal("the body was taken")
			}
			b.ReportAllocs()
			for b.Loop() {
				_, _ = d.decode(body)
			}
		})
	}
}
