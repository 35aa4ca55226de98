// The offline plan: `make plan STACK=dev` (go run . plan -stack dev) runs
// this same program for a stack file under the unit suite's mocks and prints
// what `pulumi up` would create, without AWS credentials. Pulumi itself runs
// the program with no arguments, so this path never runs in a deployment.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/promfed/promfed/config"
	"github.com/promfed/promfed/internal/contract"
	"github.com/promfed/promfed/internal/testmocks"
)

// planMain is the plan subcommand; it returns the exit status.
func planMain(args []string) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	stack := fs.String("stack", "dev", "stack whose Pulumi.<stack>.yaml is planned")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := plan(os.Stdout, ".", *stack); err != nil {
		fmt.Fprintln(os.Stderr, "plan:", err)
		return 1
	}
	return 0
}

// planPlaceholder stands in for a secret value: long enough for every
// length rule, and visibly not a real one.
const planPlaceholder = "plan-placeholder-0123456789-abcdefghijklmnopqrstuvwxyz"

// placeholders stand in for the secrets a stack file keeps encrypted or
// that operators set from files; they shape nothing the plan shows.
func placeholders(values map[string]string) ([]string, error) {
	secrets := []string{}
	for _, k := range config.Keys {
		full := "promfed:" + k.Name
		if k.Secret && config.Required[k.Name] {
			if _, ok := values[full]; !ok {
				values[full] = planPlaceholder
			}
			secrets = append(secrets, full)
		}
	}
	if values["promfed:dnsProvider"] == "cloudflare" && values["promfed:originPullCertificate"] == "" {
		ca, cert, key, err := testmocks.OriginPull()
		if err != nil {
			return nil, err
		}
		values["promfed:originPullCa"], values["promfed:originPullCertificate"], values["promfed:originPullPrivateKey"] = ca, cert, key
		secrets = append(secrets, "promfed:originPullPrivateKey")
	}
	return secrets, nil
}

// offline runs the program for a stack file under the mocks: the
// resources `pulumi up` would create (and the file's values), or the
// validation error it would stop with (the same message).
func offline(dir, stack string) (*testmocks.Mocks, map[string]string, error) {
	values, encrypted, err := testmocks.StackFile(dir, stack)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range encrypted {
		values[k] = planPlaceholder
	}
	secrets, err := placeholders(values)
	if err != nil {
		return nil, nil, err
	}
	secrets = append(secrets, encrypted...)
	m, err := testmocks.Run("promfed", stack, values, secrets, program)
	return m, values, err
}

func plan(w io.Writer, dir, stack string) error {
	m, _, err := offline(dir, stack)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "promfed plan for stack %q, computed OFFLINE from Pulumi.%s.yaml\n", stack, stack)
	fmt.Fprintln(w, "(the program ran under the unit suite's mocks: no AWS or Cloudflare call was made; ids, ARNs and")
	fmt.Fprintln(w, "addresses are placeholders; secrets not in the file were replaced by placeholders)")
	fmt.Fprintln(w)
	printTree(w, m, stack)
	return nil
}

// node is a resource in the tree.
type node struct {
	r        testmocks.Resource
	urn      string
	children []*node
}

// urnOf rebuilds a resource's URN from its parent's, as the engine forms it.
func urnOf(r testmocks.Resource, stack string) string {
	prefix := "urn:pulumi:" + stack + "::promfed::"
	parent := strings.TrimPrefix(r.Parent, prefix)
	if parent == "" || strings.HasPrefix(parent, "pulumi:pulumi:Stack::") {
		return prefix + r.Type + "::" + r.Name
	}
	types, _, _ := strings.Cut(parent, "::")
	return prefix + types + "$" + r.Type + "::" + r.Name
}

func printTree(w io.Writer, m *testmocks.Mocks, stack string) {
	byURN := map[string]*node{}
	var all []*node
	for _, r := range m.Resources {
		n := &node{r: r, urn: urnOf(r, stack)}
		byURN[n.urn] = n
		all = append(all, n)
	}
	var roots []*node
	for _, n := range all {
		if p, ok := byURN[n.r.Parent]; ok {
			p.children = append(p.children, n)
		} else {
			roots = append(roots, n)
		}
	}
	f := factsOf(m)
	printHosts(w, m, f)
	var walk func(ns []*node, depth int)
	walk = func(ns []*node, depth int) {
		sort.SliceStable(ns, func(i, j int) bool {
			if ns[i].r.Custom != ns[j].r.Custom {
				return !ns[i].r.Custom // components first
			}
			return ns[i].r.Type+ns[i].r.Name < ns[j].r.Type+ns[j].r.Name
		})
		for _, n := range ns {
			fmt.Fprintf(w, "%s%s %s%s\n", strings.Repeat("  ", depth), shortType(n.r.Type), n.r.Name, details(n.r, f))
			walk(n.children, depth+1)
		}
	}
	walk(roots, 0)
	counts := map[bool]int{}
	for _, n := range all {
		counts[n.r.Custom]++
	}
	fmt.Fprintf(w, "\n%d resources in %d components\n", counts[true], counts[false])
}

// shortType drops the provider module path: aws:ec2/instance:Instance ->
// aws:Instance.
func shortType(t string) string {
	parts := strings.Split(t, ":")
	if len(parts) == 3 && parts[0] != "promfed" {
		return parts[0] + ":" + parts[2]
	}
	return t
}

// facts are lookups the details need: mock ids back to resource names, so
// references read as names ("promfed-alb"), and each subnet's zone.
type facts struct {
	names    map[string]string
	subnetAZ map[string]string
}

func factsOf(m *testmocks.Mocks) facts {
	f := facts{names: map[string]string{}, subnetAZ: map[string]string{}}
	for _, r := range m.Resources {
		f.names[r.Name+"-id"] = r.Name
	}
	for _, s := range m.OfType("aws:ec2/subnet:Subnet") {
		f.subnetAZ[s.Name+"-id"] = s.Str("availabilityZone")
	}
	return f
}

// printHosts lists the Prometheus hosts and the bastion first: what a
// reviewer checks before the tree.
func printHosts(w io.Writer, m *testmocks.Mocks, f facts) {
	fmt.Fprintln(w, "Hosts:")
	for _, i := range m.OfType("aws:ec2/instance:Instance") {
		tags := i.Tags()
		role, _ := tags[contract.TagRole].(string)
		shard, _ := tags[contract.TagShard].(string)
		if role == "" {
			role = "bastion"
		}
		if shard != "" {
			role += ", shard " + shard
		}
		fmt.Fprintf(w, "  %-22s %-28s %-10s %s\n", i.Name, role, i.Str("instanceType"), f.subnetAZ[i.Str("subnetId")])
	}
	fmt.Fprintln(w)
}

// details prints the properties that matter for a resource type.
func details(r testmocks.Resource, f facts) string {
	ref := func(k string) string {
		v := r.Str(k)
		if n, ok := f.names[v]; ok {
			return n
		}
		return v
	}
	var parts []string
	add := func(label, v string) {
		if v != "" && v != "<nil>" {
			parts = append(parts, label+"="+v)
		}
	}
	switch r.Type {
	case "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet":
		add("cidr", r.Str("cidrBlock"))
		add("az", r.Str("availabilityZone"))
	case "aws:ec2/instance:Instance":
		add("type", r.Str("instanceType"))
		add("subnet", ref("subnetId"))
		add("az", f.subnetAZ[r.Str("subnetId")])
		add("public-ip", fmt.Sprint(r.Get("associatePublicIpAddress")))
	case "aws:ebs/volume:Volume":
		add("size", fmt.Sprintf("%vGiB", r.Get("size")))
		add("type", r.Str("type"))
		add("az", r.Str("availabilityZone"))
		add("encrypted", fmt.Sprint(r.Get("encrypted")))
	case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
		add("group", ref("securityGroupId"))
		add("port", fmt.Sprint(r.Get("fromPort")))
		peer := r.Str("cidrIpv4") + r.Str("cidrIpv6")
		if peer == "" {
			peer = ref("referencedSecurityGroupId")
		}
		dir := "from"
		if strings.Contains(r.Type, "Egress") {
			dir = "to"
		}
		add(dir, peer)
	case "aws:route53/record:Record", "cloudflare:index/record:Record":
		add("name", r.Str("name"))
		add("type", r.Str("type"))
		if p := r.Get("proxied"); p != nil {
			add("proxied", fmt.Sprint(p))
		}
	case "aws:route53/zone:Zone":
		add("zone", r.Str("name"))
	case "aws:lb/loadBalancer:LoadBalancer":
		add("name", r.Str("name"))
		add("deletion-protection", fmt.Sprint(r.Get("enableDeletionProtection")))
	case "aws:lb/listener:Listener", "aws:lb/targetGroup:TargetGroup":
		add("protocol", r.Str("protocol"))
		add("port", fmt.Sprint(r.Get("port")))
		add("tls-policy", r.Str("sslPolicy"))
	case "aws:ec2/vpcPeeringConnection:VpcPeeringConnection":
		add("peer", r.Str("peerVpcId"))
	case "aws:ec2/route:Route":
		add("table", r.Str("routeTableId"))
		add("to", r.Str("destinationCidrBlock"))
	case "aws:sns/topicSubscription:TopicSubscription":
		add(r.Str("protocol"), r.Str("endpoint"))
	case "aws:ec2/natGateway:NatGateway":
		add("subnet", ref("subnetId"))
	case "aws:iam/role:Role", "aws:iam/instanceProfile:InstanceProfile":
		add("name", r.Str("path")+r.Str("name"))
		if b := r.Str("permissionsBoundary"); b != "" {
			add("boundary", b[strings.LastIndex(b, "/")+1:])
		}
	case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
		add("policy", r.Str("policyArn"))
	case "aws:iam/rolePolicy:RolePolicy":
		add("allows", policyActions(r.Str("policy")))
	}
	if len(parts) == 0 {
		return ""
	}
	return "  (" + strings.Join(parts, ", ") + ")"
}

// policyActions lists the actions a policy document allows.
func policyActions(doc string) string {
	var p struct {
		Statement []struct {
			Effect string
			Action any
		}
	}
	if json.Unmarshal([]byte(doc), &p) != nil {
		return ""
	}
	var out []string
	for _, st := range p.Statement {
		if st.Effect != "Allow" {
			continue
		}
		switch a := st.Action.(type) {
		case string:
			out = append(out, a)
		case []any:
			for _, x := range a {
				out = append(out, fmt.Sprint(x))
			}
		}
	}
	return strings.Join(out, " ")
}
