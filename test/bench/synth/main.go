// Command synth serves /metrics in the Prometheus text format with exactly -series series,
// shaped like a fleet of HTTP services: per pod, a request counter by endpoint, method and
// status, a latency histogram by endpoint and method, and an in-flight gauge by endpoint.
// Pods are added until the count is reached, so the pod label carries the cardinality, as an
// instance-like label does in a real shard. Counters grow with time at a per-series rate, so
// every scrape appends new values (no sample is a repeat the TSDB could compress away).
//
// It is the synthetic target of test/bench/scale.sh.
package main

import (
	"bufio"
	"compress/gzip"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

var (
	services  = []string{"cart", "checkout", "catalog", "search", "auth", "payments", "shipping", "reviews", "users", "ads", "recommend", "inventory", "pricing", "media", "notify", "gateway", "billing", "orders", "profile", "session"}
	endpoints = []string{"/", "/api/v1/items", "/api/v1/items/{id}", "/api/v1/cart", "/api/v1/orders", "/api/v1/users/{id}", "/healthz", "/login", "/logout", "/static/{path}"}
	methods   = []string{"GET", "POST"}
	statuses  = []string{"200", "304", "404", "500"}
	// Upper bounds of the latency buckets (seconds) and the share of requests at or under each.
	bucketLe   = []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}
	bucketFrac = []float64{0.08, 0.2, 0.42, 0.63, 0.8, 0.92, 0.97, 0.99, 0.996, 0.999, 0.9999, 1}
)

// A histogram label set is this many series: its buckets, _sum and _count.
var histSeries = len(bucketLe) + 2

type kind int

const (
	counter kind = iota
	bucket
	histSum
	histCount
	gauge
)

// series is one line of the exposition: its name and labels, and how its value evolves.
type series struct {
	text string
	kind kind
	rate float64 // requests per second behind it
	frac float64 // a bucket's share of the requests
}

// families holds the series of each metric family, in exposition order.
type families struct {
	requests, duration, inflight []series
}

// build lays out exactly n series, pod after pod.
func build(n int) families {
	var f families
	left := n
	for pod := 0; left > 0; pod++ {
		svc := services[pod%len(services)]
		podName := fmt.Sprintf("%s-%06d", svc, pod)
		base := fmt.Sprintf(`service=%q,pod=%q`, svc, podName)
		for _, ep := range endpoints {
			for _, m := range methods {
				for _, st := range statuses {
					if left == 0 {
						return f
					}
					lbl := fmt.Sprintf(`%s,endpoint=%q,method=%q,status=%q`, base, ep, m, st)
					f.requests = append(f.requests, series{text: "http_requests_total{" + lbl + "}", kind: counter, rate: rateOf(lbl)})
					left--
				}
				// A histogram only whole: a partial one would lack its +Inf bucket.
				if left >= histSeries {
					lbl := fmt.Sprintf(`%s,endpoint=%q,method=%q`, base, ep, m)
					r := rateOf(lbl)
					for i, le := range bucketLe {
						f.duration = append(f.duration, series{text: "http_request_duration_seconds_bucket{" + lbl + ",le=\"" + le + "\"}", kind: bucket, rate: r, frac: bucketFrac[i]})
					}
					f.duration = append(f.duration,
						series{text: "http_request_duration_seconds_sum{" + lbl + "}", kind: histSum, rate: r},
						series{text: "http_request_duration_seconds_count{" + lbl + "}", kind: histCount, rate: r})
					left -= histSeries
				}
			}
			if left > 0 {
				lbl := fmt.Sprintf(`%s,endpoint=%q`, base, ep)
				f.inflight = append(f.inflight, series{text: "http_requests_in_flight{" + lbl + "}", kind: gauge, rate: rateOf(lbl)})
				left--
			}
		}
	}
	return f
}

// rateOf gives a label set a stable request rate between 0.1 and 20 per second.
func rateOf(labels string) float64 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(labels)) // a hash never fails to write
	return 0.1 + float64(h.Sum32()%200)/10
}

// value of s after t seconds; whole requests, so counters look like counters.
func (s series) value(t float64) float64 {
	reqs := math.Floor(s.rate * t)
	switch s.kind {
	case bucket:
		return math.Floor(reqs * s.frac)
	case histSum:
		return reqs * 0.087
	case gauge:
		return math.Floor(s.rate * (1 + math.Sin(t/60+s.rate)))
	default:
		return reqs
	}
}

// writeFamily writes one family at t seconds; an error (the scraper gone) ends it early.
func writeFamily(w *bufio.Writer, name, typ, help string, ss []series, t float64) error {
	if len(ss) == 0 {
		return nil
	}
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	line := make([]byte, 0, 256)
	for _, s := range ss {
		line = append(line[:0], s.text...)
		line = append(line, ' ')
		line = strconv.AppendFloat(line, s.value(t), 'g', -1, 64)
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:9400", "address to serve /metrics on")
	n := flag.Int("series", 10000, "number of series to serve")
	flag.Parse()
	if *n < 1 {
		log.Fatal("-series must be at least 1")
	}
	f := build(*n)
	start := time.Now()
	log.Printf("serving %d series (%d requests_total, %d histogram, %d in_flight) on %s",
		len(f.requests)+len(f.duration)+len(f.inflight), len(f.requests), len(f.duration), len(f.inflight), *listen)

	http.HandleFunc("/metrics", func(rw http.ResponseWriter, r *http.Request) {
		t := time.Since(start).Seconds()
		rw.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		var out io.Writer = rw
		// Prometheus asks for gzip, as exporters built on client_golang serve it; the fastest
		// level keeps the generator's share of the two cores small.
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			rw.Header().Set("Content-Encoding", "gzip")
			gz, _ := gzip.NewWriterLevel(rw, gzip.BestSpeed)
			defer gz.Close()
			out = gz
		}
		w := bufio.NewWriterSize(out, 1<<16)
		defer w.Flush()
		if err := writeFamily(w, "http_requests_total", "counter", "Requests served.", f.requests, t); err != nil {
			return
		}
		if err := writeFamily(w, "http_request_duration_seconds", "histogram", "Request latency.", f.duration, t); err != nil {
			return
		}
		if err := writeFamily(w, "http_requests_in_flight", "gauge", "Requests being served.", f.inflight, t); err != nil {
			return
		}
	})
	// No write timeout: a large exposition may take longer than any fixed bound.
	srv := &http.Server{Addr: *listen, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
