// Package dashboards defines the stack's Grafana dashboards in Go with the
// Grafana Foundation SDK. `make dashboards` writes them to dashboards/*.json
// (cmd/dashboards); a test fails when the committed files are stale, and
// the end-to-end suite runs every panel's query against a live primary.
//
// Every query reads what a primary holds: its own series and the federated
// federate:* aggregates of the secondaries (labels shard, secondary,
// prometheus), so the dashboards need one data source, the endpoint.
package dashboards

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Dashboard is one generated dashboard: its file name under dashboards/
// and its JSON.
type Dashboard struct {
	File string
	JSON []byte
}

// All builds every dashboard, in file order.
func All() ([]Dashboard, error) {
	builders := []struct {
		file    string
		builder *builder
	}{
		{"federation-overview.json", federationOverview()},
		{"host-health.json", hostHealth()},
		{"services.json", services()},
	}
	var out []Dashboard
	for _, b := range builders {
		d, err := b.builder.Build()
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", b.file, err)
		}
		// Grafana links and embeds panels by id: number them in order.
		for i, p := range d.Panels {
			id := uint32(i + 1)
			switch {
			case p.Panel != nil:
				p.Panel.Id = &id
			case p.RowPanel != nil:
				p.RowPanel.Id = id
			}
		}
		raw, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return nil, err
		}
		out = append(out, Dashboard{File: b.file, JSON: append(raw, '\n')})
	}
	return out, nil
}

// The classic dashboard schema (v1): file provisioning and Amazon Managed
// Grafana load it; the SDK's v2 (dashboardv2) needs Grafana 12 with its new
// layouts turned on.
type builder = dashboard.DashboardBuilder //nolint:staticcheck // see above

var newBuilder = dashboard.NewDashboardBuilder //nolint:staticcheck // see builder

// The data source is chosen on the dashboard (a variable), so one file
// serves every stack.
var source = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

// base is a dashboard with the data source and shard variables.
func base(uid, title, description string) *builder {
	return newBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{"promfed"}).
		Editable().
		Refresh("1m").
		Time("now-6h", "now").
		Timezone(common.TimeZoneUtc).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Data source").
			Type("prometheus").
			Description("The stack's endpoint (a primary)")).
		WithVariable(dashboard.NewQueryVariableBuilder("shard").
			Label("Shard").
			Datasource(source).
			Query(dashboard.StringOrMap{String: cog.ToPtr("label_values(federate:up:sum, shard)")}).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Multi(true).
			IncludeAll(true).
			AllValue(".*"))
}

func query(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Expr(expr).LegendFormat(legend).Datasource(source)
}

func series(title, description, unit string, queries ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(source).
		Unit(unit).
		Height(8).
		Span(12).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeTable).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true).
			Calcs([]string{"lastNotNull", "max"}))
	for _, q := range queries {
		p = p.WithTarget(q)
	}
	return p
}

func single(title, description, unit string, q *prometheus.DataqueryBuilder) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(source).
		Unit(unit).
		Height(4).
		Span(6).
		GraphMode(common.BigValueGraphModeArea).
		WithTarget(q)
}

func federationOverview() *builder {
	return base("promfed-federation", "promfed / Federation overview",
		"Shards, their targets, and how the primary's federation of each secondary goes.").
		WithRow(dashboard.NewRowBuilder("Shards")).
		WithPanel(single("Shards", "Shards whose aggregates reach this primary.", "none",
			query(`count(count by (shard) (federate:up:sum{shard=~"$shard"}))`, "shards"))).
		WithPanel(single("Secondaries federated", "Secondaries whose /federate answered the last scrape.", "none",
			query(`sum(up{job="federate", shard=~"$shard"})`, "up"))).
		WithPanel(single("Targets up", "Targets the shards' secondaries scrape that answer.", "none",
			query(`sum(federate:up:sum{shard=~"$shard"})`, "up"))).
		WithPanel(single("Targets down", "Targets the shards' secondaries scrape that do not answer.", "none",
			query(`sum(federate:up:count{shard=~"$shard"}) - sum(federate:up:sum{shard=~"$shard"})`, "down"))).
		WithRow(dashboard.NewRowBuilder("Federation")).
		WithPanel(series("Targets up by shard", "Targets answering, per shard, and how many exist.", "none",
			query(`sum by (shard) (federate:up:sum{shard=~"$shard"})`, "{{shard}} up"),
			query(`sum by (shard) (federate:up:count{shard=~"$shard"})`, "{{shard}} known"))).
		WithPanel(series("Federation lag", "Age of each secondary's newest heartbeat aggregate on this primary: "+
			"about one federation interval when healthy, growing while a secondary cannot be federated "+
			"(SecondaryAggregatesStale).", "s",
			query(`time() - max by (secondary) (federate:heartbeat:time{shard=~"$shard"})`, "{{secondary}}"))).
		WithPanel(series("Federation failures", "1 while the primary's scrape of a secondary's /federate fails (FederationFailing).", "none",
			query(`1 - max by (secondary) (up{job="federate", shard=~"$shard"})`, "{{secondary}}"))).
		WithPanel(series("Federate scrape duration", "How long each /federate scrape takes.", "s",
			query(`max by (secondary) (scrape_duration_seconds{job="federate", shard=~"$shard"})`, "{{secondary}}"))).
		WithPanel(series("Samples federated per secondary", "Samples each /federate scrape returns: the aggregates, not the raw series.", "none",
			query(`max by (secondary) (scrape_samples_scraped{job="federate", shard=~"$shard"})`, "{{secondary}}"))).
		WithPanel(series("Samples scraped by each secondary", "Samples each secondary scrapes from its own targets, per job.", "none",
			query(`sum by (prometheus, job) (federate:scrape_samples_scraped:sum{shard=~"$shard"})`, "{{prometheus}} {{job}}")))
}

func hostHealth() *builder {
	return base("promfed-hosts", "promfed / Host health",
		"CPU, memory and disk of the stack's hosts and the state of each Prometheus, from the federated aggregates.").
		WithRow(dashboard.NewRowBuilder("Hosts")).
		WithPanel(series("CPU utilization", "Share of CPU time not idle, per host.", "percentunit",
			query(`max by (instance) (federate:node_cpu_utilisation:avg)`, "{{instance}}"))). //nolint:misspell // the recording rule's name
		WithPanel(series("Memory available", "Share of memory available, per host (MemoryLow under 10%).", "percentunit",
			query(`min by (instance) (federate:node_memory_available:ratio)`, "{{instance}}"))).
		WithPanel(series("Disk space available", "Share of each filesystem free (DiskFilling, DiskSpaceLow); /var/lib/prometheus is the data volume.", "percentunit",
			query(`min by (instance, mountpoint) (federate:node_filesystem_avail:ratio)`, "{{instance}} {{mountpoint}}"))).
		WithRow(dashboard.NewRowBuilder("Prometheus")).
		WithPanel(series("Configuration reloaded", "1 when each Prometheus' last configuration reload succeeded (PrometheusConfigReloadFailed).", "none",
			query(`min by (prometheus) (federate:prometheus_config_last_reload_successful:min)`, "{{prometheus}}"))).
		WithPanel(series("TSDB failures in 3 hours", "Compactions, head truncations, reloads failed and WAL corruptions (the PrometheusTSDB* alerts).", "none",
			query(`sum by (prometheus) (federate:prometheus_tsdb_compactions_failed:increase3h)`, "{{prometheus}} compactions"),
			query(`sum by (prometheus) (federate:prometheus_tsdb_head_truncations_failed:increase3h)`, "{{prometheus}} truncations"),
			query(`sum by (prometheus) (federate:prometheus_tsdb_reloads_failures:increase3h)`, "{{prometheus}} reloads"),
			query(`sum by (prometheus) (federate:prometheus_tsdb_wal_corruptions:increase3h)`, "{{prometheus}} WAL corruptions"))).
		WithPanel(series("Scrape duration", "The slowest scrape of each job on each Prometheus.", "s",
			query(`max by (prometheus, job) (federate:scrape_duration_seconds:max)`, "{{prometheus}} {{job}}")))
}

func services() *builder {
	return base("promfed-services", "promfed / Services",
		"The workloads the shards monitor: availability and targets per job (monitoring/recording/services.rules.yml), "+
			"and the probes of the secondaries.").
		WithRow(dashboard.NewRowBuilder("Jobs")).
		WithPanel(series("Availability", "Share of each job's targets that answer (ServiceUnavailable under 50%).", "percentunit",
			query(`min by (shard, job) (federate:service_availability:ratio{shard=~"$shard"})`, "{{shard}} {{job}}"))).
		WithPanel(series("Targets up and known", "Targets answering and targets discovered, per job (ServiceTargetsDown).", "none",
			query(`sum by (shard, job) (federate:service_targets_up:sum{shard=~"$shard"})`, "{{shard}} {{job}} up"),
			query(`sum by (shard, job) (federate:service_targets:count{shard=~"$shard"})`, "{{shard}} {{job}} known"))).
		WithRow(dashboard.NewRowBuilder("Probes")).
		WithPanel(series("Probe success", "1 when the blackbox probe of each URL succeeds (ProbeFailing).", "none",
			query(`min by (instance) (federate:probe_success:min{shard=~"$shard"})`, "{{instance}}"))).
		WithPanel(series("Probe duration", "How long each probe takes.", "s",
			query(`max by (instance) (federate:probe_duration_seconds:max{shard=~"$shard"})`, "{{instance}}")))
}
