package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/promfed/promfed/internal/contract"
)

func withShards(shards string) map[string]string {
	v := validRoute53()
	v["shards"] = shards
	return v
}

func TestShardsParsed(t *testing.T) {
	c, err := load(t, withShards(`[
	  {"name": "apps", "secondaries": 2, "labels": {"team": "apps"},
	   "ec2": [{"job": "apps-node", "tags": {"Team": "apps"}, "ports": [9100, "9256"], "labelTags": {"Service": "service"}}],
	   "probes": [{"url": "https://www.example.com/", "module": "https_2xx"}]},
	  {"name": "data", "secondaries": "1",
	   "dns": [{"job": "pg", "names": ["_pg._tcp.data.example.internal"], "type": "SRV", "port": 9187}],
	   "static": [{"job": "kafka", "targets": ["10.60.1.10:9308"], "labels": {"cluster": "events"}}],
	   "peer": {"vpcId": "vpc-0123456789abcdef0", "cidr": "10.60.0.0/16", "routeTableIds": ["rtb-0123456789abcdef0"]}}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Shards) != 2 {
		t.Fatalf("shards: %+v", c.Shards)
	}
	apps, data := c.Shards[0], c.Shards[1]
	if apps.Secondaries != 2 || apps.Labels["team"] != "apps" || apps.EC2[0].Region != "eu-west-1" || apps.EC2[0].MetricsPath != "/metrics" || apps.EC2[0].Scheme != "http" {
		t.Errorf("apps: %+v", apps)
	}
	if got := apps.ScrapePorts(); len(got) != 2 || got[0] != 9100 || got[1] != 9256 {
		t.Errorf("apps scrape ports %v", got)
	}
	if got := data.ScrapePorts(); len(got) != 2 || got[0] != 9187 || got[1] != 9308 {
		t.Errorf("data scrape ports %v (SRV port and static target port)", got)
	}
	if data.Peer == nil || data.Peer.Cidr.String() != "10.60.0.0/16" || data.Secondaries != 1 {
		t.Errorf("data: %+v", data)
	}
	if got := apps.DiscoveryRegions(); len(got) != 1 || got[0] != "eu-west-1" {
		t.Errorf("apps discovery regions %v", got)
	}
	if len(data.DiscoveryRegions()) != 0 {
		t.Error("a shard without ec2 jobs needs no discovery region")
	}
}

// The host list is computed once: names, roles, shards, zones, types.
func TestHostModel(t *testing.T) {
	v := withShards(`[{"name":"apps","secondaries":2},{"name":"data","secondaries":1}]`)
	v["azCount"], v["primaryInstanceType"], v["secondaryInstanceType"] = "3", "m6i.large", "t3.small"
	secondaries := []Host{
		{Name: "secondary-apps-1", Role: contract.RoleSecondary, Shard: "apps", Region: "eu-west-1", Index: 1, AZIndex: 1, InstanceType: "t3.small"},
		{Name: "secondary-apps-2", Role: contract.RoleSecondary, Shard: "apps", Region: "eu-west-1", Index: 2, AZIndex: 0, InstanceType: "t3.small"},
		{Name: "secondary-data-1", Role: contract.RoleSecondary, Shard: "data", Region: "eu-west-1", Index: 1, AZIndex: 1, InstanceType: "t3.small"},
	}
	a := Host{Name: "primary-a", FormerName: "primary", Role: contract.RolePrimary, Replica: "a", Region: "eu-west-1", AZIndex: 0, InstanceType: "m6i.large"}
	b := Host{Name: "primary-b", Role: contract.RolePrimary, Replica: "b", Region: "eu-west-1", AZIndex: 1, InstanceType: "m6i.large"}
	// A second replica adds a host in the next zone and moves no secondary.
	for replicas, primaries := range map[string][]Host{"1": {a}, "2": {a, b}} {
		v["primaryReplicas"] = replicas
		c, err := load(t, v)
		if err != nil {
			t.Fatal(err)
		}
		want := append(slices.Clone(primaries), secondaries...)
		if !slices.Equal(c.Hosts, want) {
			t.Errorf("replicas %s: hosts\n%+v\nwant\n%+v", replicas, c.Hosts, want)
		}
		if got := OfRole(c.Hosts, contract.RolePrimary); !slices.Equal(got, primaries) {
			t.Errorf("replicas %s: primaries %+v", replicas, got)
		}
	}
}

// The legacy layout keeps the placement of earlier releases: round-robin
// over every zone by the host's global position.
func TestLegacyPlacement(t *testing.T) {
	v := withShards(`[{"name":"apps","secondaries":2},{"name":"data","secondaries":1}]`)
	v["azCount"], v["layout"], v["primaryReplicas"] = "3", "legacy", "2"
	c, err := load(t, v)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range c.Hosts {
		got = append(got, fmt.Sprintf("%s@%d", h.Name, h.AZIndex))
	}
	if strings.Join(got, " ") != "primary-a@0 primary-b@1 secondary-apps-1@1 secondary-apps-2@2 secondary-data-1@0" {
		t.Errorf("legacy placement %v", got)
	}
}

// In the stable layout no ordinary edit moves a host to another zone (which
// would replace its data volume): raising azCount, adding a replica, a
// shard before the others or a secondary.
func TestStablePlacement(t *testing.T) {
	zones := func(shards, azCount, replicas string) map[string]int {
		v := withShards(shards)
		v["azCount"], v["primaryReplicas"] = azCount, replicas
		c, err := load(t, v)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, h := range c.Hosts {
			out[h.Name] = h.AZIndex
		}
		return out
	}
	base := zones(`[{"name":"apps","secondaries":2},{"name":"data","secondaries":1}]`, "2", "1")
	for name, edited := range map[string]map[string]int{
		"azCount 3":        zones(`[{"name":"apps","secondaries":2},{"name":"data","secondaries":1}]`, "3", "1"),
		"azCount 6":        zones(`[{"name":"apps","secondaries":2},{"name":"data","secondaries":1}]`, "6", "1"),
		"second replica":   zones(`[{"name":"apps","secondaries":2},{"name":"data","secondaries":1}]`, "2", "2"),
		"shard first":      zones(`[{"name":"edge","secondaries":2},{"name":"apps","secondaries":2},{"name":"data","secondaries":1}]`, "2", "1"),
		"more secondaries": zones(`[{"name":"apps","secondaries":3},{"name":"data","secondaries":2}]`, "3", "1"),
	} {
		for host, z := range base {
			if edited[host] != z {
				t.Errorf("%s moves %s from zone %d to %d", name, host, z, edited[host])
			}
		}
	}
	// Pairs span both zones, and a shard's first secondary is not in
	// primary-a's zone.
	if base["secondary-apps-1"] == base["secondary-apps-2"] || base["secondary-data-1"] == base["primary-a"] {
		t.Errorf("placement %v", base)
	}
}

// Two replicas need two zones: one zone outage must never take both.
func TestReplicasNeedDistinctZones(t *testing.T) {
	v := validRoute53()
	v["azCount"], v["primaryReplicas"] = "1", "2"
	_, err := load(t, v)
	if err == nil || !strings.Contains(err.Error(), "primaryReplicas 2 needs at least 2 availability zones but azCount is 1: each replica runs in its own AZ") {
		t.Fatalf("err = %v", err)
	}
}

// Bad shard input is refused with the key path, the value and the rule,
// before any resource exists (Load returns no config).
func TestShardRules(t *testing.T) {
	ok := `{"name":"apps","secondaries":1}`
	cases := []struct{ name, shards, want string }{
		{"not a list", `{"name":"apps"}`, `shards is not a list of shard objects`},
		{"empty", `[]`, `shards has 0 entries: between 1 and 10 shards are needed`},
		{"name not dns safe", `[{"name":"Apps_1"}]`, `shards[0].name "Apps_1" is not allowed`},
		{"name trailing hyphen", `[{"name":"apps-"}]`, `shards[0].name "apps-" is not allowed`},
		{"name too long", `[{"name":"abcdefghijklmnopqrstu"}]`, `shards[0].name "abcdefghijklmnopqrstu" is not allowed`},
		{"name repeats", `[` + ok + `,` + ok + `]`, `shards[1].name "apps" repeats shards[0].name`},
		{"unknown field", `[{"name":"apps","secondary":2}]`, `shards[0].secondary is not a known setting`},
		{"secondaries zero", `[{"name":"apps","secondaries":0}]`, `shards[0].secondaries 0 is out of range: it must be between 1 and 10`},
		{"secondaries text", `[{"name":"apps","secondaries":"two"}]`, `shards[0].secondaries "two" is not an integer`},
		{"too many in all", `[{"name":"a","secondaries":10},{"name":"b","secondaries":10},{"name":"c","secondaries":1}]`, `shards ask for 21 secondaries in all: at most 20`},
		{"label reserved", `[{"name":"apps","labels":{"shard":"x"}}]`, `shards[0].labels key "shard" is reserved`},
		{"label replica", `[{"name":"apps","labels":{"replica":"a"}}]`, `shards[0].labels key "replica" is reserved`},
		{"label bad name", `[{"name":"apps","labels":{"team-name":"x"}}]`, `shards[0].labels key "team-name" is not a Prometheus label name`},
		{"label double underscore", `[{"name":"apps","labels":{"__x":"x"}}]`, `shards[0].labels key "__x" is not a Prometheus label name`},
		{"label empty value", `[{"name":"apps","labels":{"team":""}}]`, `shards[0].labels.team is empty`},
		{"ec2 port range", `[{"name":"apps","ec2":[{"job":"n","tags":{"T":"a"},"ports":[70000]}]}]`, `shards[0].ec2[0].ports[0] 70000 is out of range`},
		{"ec2 no ports", `[{"name":"apps","ec2":[{"job":"n","tags":{"T":"a"}}]}]`, `shards[0].ec2[0].ports is empty`},
		{"ec2 port twice", `[{"name":"apps","ec2":[{"job":"n","tags":{"T":"a"},"ports":[1,1]}]}]`, `shards[0].ec2[0].ports[1] repeats port 1`},
		{"ec2 no tags", `[{"name":"apps","ec2":[{"job":"n","ports":[9100]}]}]`, `shards[0].ec2[0].tags is empty: without a tag filter`},
		{"ec2 aws tag", `[{"name":"apps","ec2":[{"job":"n","tags":{"aws:x":"a"},"ports":[9100]}]}]`, `shards[0].ec2[0].tags key "aws:x" is not a usable EC2 tag key`},
		{"ec2 region", `[{"name":"apps","ec2":[{"job":"n","region":"eu-middle-9","tags":{"T":"a"},"ports":[9100]}]}]`, `shards[0].ec2[0].region "eu-middle-9" is not an AWS region`},
		{"ec2 label tag reserved", `[{"name":"apps","ec2":[{"job":"n","tags":{"T":"a"},"ports":[9100],"labelTags":{"Name":"instance"}}]}]`, `shards[0].ec2[0].labelTags.Name: "instance" is not a free label name`},
		{"job reserved", `[{"name":"apps","static":[{"job":"node","targets":["a.example.com:1"]}]}]`, `shards[0].static[0].job "node" is reserved`},
		{"job repeats", `[{"name":"apps","static":[{"job":"x","targets":["a.example.com:1"]}],"dns":[{"job":"x","names":["a.example.com"],"port":1}]}]`, `shards[0].static[0].job "x" repeats shards[0].dns[0].job`},
		{"scheme", `[{"name":"apps","static":[{"job":"x","targets":["a.example.com:1"],"scheme":"ftp"}]}]`, `shards[0].static[0].scheme "ftp" is not allowed`},
		{"metrics path", `[{"name":"apps","static":[{"job":"x","targets":["a.example.com:1"],"metricsPath":"metrics"}]}]`, `shards[0].static[0].metricsPath "metrics" is not a URL path`},
		{"static empty", `[{"name":"apps","static":[{"job":"x","targets":[]}]}]`, `shards[0].static[0].targets is empty`},
		{"static no port", `[{"name":"apps","static":[{"job":"x","targets":["a.example.com"]}]}]`, `shards[0].static[0].targets[0] "a.example.com" is not host:port`},
		{"static bad port", `[{"name":"apps","static":[{"job":"x","targets":["a.example.com:0"]}]}]`, `shards[0].static[0].targets[0] "a.example.com:0" has port "0"`},
		{"dns type", `[{"name":"apps","dns":[{"job":"x","names":["a.example.com"],"type":"MX","port":1}]}]`, `shards[0].dns[0].type "MX" is not allowed`},
		{"dns A without port", `[{"name":"apps","dns":[{"job":"x","names":["a.example.com"]}]}]`, `shards[0].dns[0].port 0 is out of range`},
		{"dns empty names", `[{"name":"apps","dns":[{"job":"x","names":[],"port":1}]}]`, `shards[0].dns[0].names is empty`},
		{"dns bad name", `[{"name":"apps","dns":[{"job":"x","names":["not a name"],"port":1}]}]`, `shards[0].dns[0].names[0] "not a name" is not a DNS name`},
		{"probe module", `[{"name":"apps","probes":[{"url":"https://a.example.com/","module":"icmp"}]}]`, `shards[0].probes[0].module "icmp" is not a blackbox module`},
		{"probe url no host", `[{"name":"apps","probes":[{"url":"https:///x"}]}]`, `shards[0].probes[0].url "https:///x" is not an http:// or https:// URL with a host`},
		{"probe https module plain url", `[{"name":"apps","probes":[{"url":"http://a.example.com/","module":"https_2xx"}]}]`, `module https_2xx needs an https:// URL`},
		{"probe tcp url", `[{"name":"apps","probes":[{"url":"https://a.example.com/","module":"tcp_connect"}]}]`, `shards[0].probes[0].url "https://a.example.com/" is not host:port`},
		{"probe twice", `[{"name":"apps","probes":[{"url":"https://a.example.com/"},{"url":"https://a.example.com/"}]}]`, `shards[0].probes[1] repeats https://a.example.com/`},
		{"peer overlaps vpc", `[{"name":"apps","peer":{"vpcId":"vpc-0123456789abcdef0","cidr":"10.40.128.0/17","routeTableIds":["rtb-0123456789abcdef0"]}}]`, `shards[0].peer.cidr 10.40.128.0/17 overlaps vpcCidr 10.40.0.0/16`},
		{"peers overlap", `[{"name":"a","peer":{"vpcId":"vpc-0123456789abcdef0","cidr":"10.60.0.0/16","routeTableIds":["rtb-0123456789abcdef0"]}},{"name":"b","peer":{"vpcId":"vpc-0123456789abcdef1","cidr":"10.60.4.0/24","routeTableIds":["rtb-0123456789abcdef1"]}}]`, `shards[1].peer.cidr 10.60.4.0/24 overlaps shards[0].peer.cidr 10.60.0.0/16`},
		{"peer vpc id", `[{"name":"apps","peer":{"vpcId":"vpc-xyz","cidr":"10.60.0.0/16","routeTableIds":["rtb-0123456789abcdef0"]}}]`, `shards[0].peer.vpcId "vpc-xyz" is not a VPC id`},
		{"peer no route tables", `[{"name":"apps","peer":{"vpcId":"vpc-0123456789abcdef0","cidr":"10.60.0.0/16"}}]`, `shards[0].peer.routeTableIds is empty`},
		{"shard alert email", `[{"name":"apps","alertEmails":["apps-team"]}]`, `shards[0].alertEmails[0] "apps-team" is not an email address`},
		{"shard alert email twice", `[{"name":"a","alertEmails":["t@example.com"]},{"name":"b","alertEmails":["T@example.com"]}]`, `shards[1].alertEmails[0] "T@example.com" is already subscribed as shards[0].alertEmails[0]`},
		{"srv without port", `[{"name":"apps","dns":[{"job":"x","names":["_x._tcp.example.com"],"type":"SRV"}]}]`, `shards[0].dns[0].port is missing: SRV records carry their own ports`},
		{"peer bad route table", `[{"name":"apps","peer":{"vpcId":"vpc-0123456789abcdef0","cidr":"10.60.0.0/16","routeTableIds":["rt-1"]}}]`, `shards[0].peer.routeTableIds[0] "rt-1" is not a route table id`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, withShards(tc.shards))
			if err == nil || c != nil {
				t.Fatalf("shards %s was accepted", tc.shards)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not say %q:\n%v", tc.want, err)
			}
		})
	}
}

func TestShardProblemsListedTogether(t *testing.T) {
	_, err := load(t, withShards(`[{"name":"Bad","secondaries":0,"ec2":[{"job":"n","ports":[0]}]}]`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`shards[0].name "Bad"`, `shards[0].secondaries 0`, `shards[0].ec2[0].ports[0] 0`, `shards[0].ec2[0].tags is empty`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestRegionChecked(t *testing.T) {
	_, err := Load("promfed", "dev", "eu-middle-9", MapSource{Values: validRoute53(), Secrets: secretKeys})
	if err == nil || !strings.Contains(err.Error(), `aws:region "eu-middle-9" is not an AWS region`) {
		t.Fatalf("want the region refused, got %v", err)
	}
}

// Receiver secrets in plain text are refused like every other secret.
func TestReceiverSecretsMustBeEncrypted(t *testing.T) {
	for key, value := range map[string]string{
		"slackWebhookUrl":     "https://hooks.slack.com/services/T/B/x",
		"pagerDutyRoutingKey": strings.Repeat("a", 32),
		"alertWebhookUrl":     "https://hooks.example.com/x",
	} {
		v := validRoute53()
		v[key] = value
		secrets := map[string]bool{"webPassword": true, "hostKeySeed": true}
		_, err := Load("promfed", "dev", "eu-west-1", MapSource{Values: v, Secrets: secrets})
		if err == nil || !strings.Contains(err.Error(), key+" is set in plain text") {
			t.Errorf("%s in plain text: %v", key, err)
		}
	}
}

func TestStackAndShardEmailsDoNotRepeat(t *testing.T) {
	v := withShards(`[{"name":"apps","alertEmails":["oncall@example.com"]}]`)
	v["alertEmails"] = `["oncall@example.com"]`
	_, err := load(t, v)
	if err == nil || !strings.Contains(err.Error(), `shards[0].alertEmails[0] "oncall@example.com" is already subscribed as alertEmails[0]`) {
		t.Fatalf("got %v", err)
	}
}

func TestProbePorts(t *testing.T) {
	c, err := load(t, withShards(`[{"name":"apps","probes":[
	  {"url":"https://a.example.com/"},{"url":"http://b.example.com:8080/x","module":"http_2xx"},
	  {"url":"db.example.com:5432","module":"tcp_connect"},{"url":"mq.example.com:5671","module":"tls_connect"},
	  {"url":"c.example.com:443","module":"tls_connect"}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Shards[0].ProbePorts(); len(got) != 3 || got[0] != 5432 || got[1] != 5671 || got[2] != 8080 {
		t.Errorf("probe ports %v, want [5432 5671 8080]", got)
	}
}
