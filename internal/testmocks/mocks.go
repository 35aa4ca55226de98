// Package testmocks runs Pulumi programs under pulumi.WithMocks and records
// every registered resource, so tests assert on what would be created.
package testmocks

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Resource is one registered resource as the engine would see it.
type Resource struct {
	Type, Name, URN, Parent string
	Custom                  bool
	Inputs                  resource.PropertyMap
	Protect                 bool
	DeleteBeforeReplace     bool
	IgnoreChanges           []string
	Dependencies            []string
	CreateTimeout           string
	// Aliases are the former names (or URNs) the resource answers to.
	Aliases []string
	// Provider is the explicit provider's reference ("<urn>::<id>"), or ""
	// for the default provider.
	Provider string
}

// Mocks records resources and answers the invokes the program makes.
type Mocks struct {
	// Zones and LocalZones shape the region's zone lookup (see zones).
	Zones, LocalZones []string
	// RegionZones are the standard zones of other regions (explicit
	// providers), by region; a region not listed has Zones, renamed.
	RegionZones map[string][]string
	// Prior, when set, is the previous run's record, standing in for the
	// engine's state: an input listed in ignoreChanges keeps its prior
	// value, as the engine keeps it (edit tests run an edit after a base).
	Prior *Mocks

	mu        sync.Mutex
	Resources []Resource
	Invokes   []string
	// InvokeProviders follow Invokes: each invoke's explicit provider
	// reference, or "".
	InvokeProviders []string
}

// NewResource records a registration and answers with its inputs plus
// the outputs tests rely on (ids, ARNs, DNS names).
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r := Resource{Type: args.TypeToken, Name: args.Name, Custom: args.Custom, Inputs: args.Inputs, Provider: args.Provider}
	if rpc := args.RegisterRPC; rpc != nil {
		r.Parent = rpc.GetParent()
		r.Protect = rpc.GetProtect()
		r.DeleteBeforeReplace = rpc.GetDeleteBeforeReplace()
		r.IgnoreChanges = rpc.GetIgnoreChanges()
		r.Dependencies = rpc.GetDependencies()
		for _, a := range rpc.GetAliases() {
			// Providers add type-only aliases of their own; names are ours.
			if spec := a.GetSpec(); spec != nil {
				if spec.GetName() != "" {
					r.Aliases = append(r.Aliases, spec.GetName())
				}
			} else {
				r.Aliases = append(r.Aliases, a.GetUrn())
			}
		}
		if ct := rpc.GetCustomTimeouts(); ct != nil {
			r.CreateTimeout = ct.GetCreate()
		}
	}
	if m.Prior != nil && len(r.IgnoreChanges) > 0 {
		for _, old := range m.Prior.OfType(args.TypeToken) {
			if old.Name != args.Name {
				continue
			}
			r.Inputs = r.Inputs.Copy()
			for _, p := range r.IgnoreChanges {
				k := resource.PropertyKey(p)
				if v, ok := old.Inputs[k]; ok {
					r.Inputs[k] = v
				} else {
					delete(r.Inputs, k)
				}
			}
			args.Inputs = r.Inputs
		}
	}
	m.mu.Lock()
	m.Resources = append(m.Resources, r)
	m.mu.Unlock()

	id := args.Name + "-id"
	if snap := args.Inputs["snapshotId"]; args.TypeToken == "aws:ebs/volume:Volume" && snap.IsString() && snap.StringValue() != "" {
		// A volume made from a snapshot is a new volume, with a new id.
		id = args.Name + "-" + snap.StringValue() + "-id"
	}
	out := args.Inputs.Copy()
	short := args.TypeToken[strings.LastIndex(args.TypeToken, ":")+1:]
	// The region of its provider, so a reference across regions shows.
	region := m.ProviderRegion(args.Provider)
	if region == "" {
		region = "eu-west-1"
	}
	out["arn"] = resource.NewProperty(fmt.Sprintf("arn:aws:mock:%s:123456789012:%s/%s", region, strings.ToLower(short), args.Name))
	switch args.TypeToken {
	case "aws:lb/loadBalancer:LoadBalancer":
		out["dnsName"] = resource.NewProperty(args.Name + "-123.eu-west-1.elb.amazonaws.com")
		out["zoneId"] = resource.NewProperty("Z32O12XQLNTSW2")
	case "aws:acm/certificate:Certificate":
		out["domainValidationOptions"] = resource.NewProperty([]resource.PropertyValue{resource.NewProperty(resource.PropertyMap{
			"domainName":          args.Inputs["domainName"],
			"resourceRecordName":  resource.NewProperty("_abc." + args.Inputs["domainName"].StringValue() + "."),
			"resourceRecordType":  resource.NewProperty("CNAME"),
			"resourceRecordValue": resource.NewProperty("_xyz.acm-validations.aws."),
		})})
	case "aws:amp/workspace:Workspace":
		out["prometheusEndpoint"] = resource.NewProperty("https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-" + args.Name + "/")
	case "aws:ec2/instance:Instance":
		out["privateIp"] = resource.NewProperty("10.40.2.10")
	case "aws:ec2/eip:Eip":
		out["publicIp"] = resource.NewProperty("198.51.100.7")
	case "aws:s3/bucketV2:BucketV2":
		out["bucket"] = resource.NewProperty(args.Name + "-bucket")
	case "aws:ec2/vpc:Vpc":
		out["defaultSecurityGroupId"] = resource.NewProperty("sg-default")
	}
	return id, out, nil
}

// Zones the mock region offers: Zones (standard zones, default three) and
// LocalZones (opt-in; by default one, whose name sorts before the standard
// ones, as AWS names them). A lookup that does not filter on opt-in-status
// gets both, sorted, as AWS would answer it.
func (m *Mocks) zones(args resource.PropertyMap, provider string) resource.PropertyMap {
	standard, local := m.Zones, m.LocalZones
	if standard == nil {
		standard = []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}
	}
	if local == nil {
		local = []string{"eu-west-1-lux-1a"}
	}
	if region := m.ProviderRegion(provider); region != "" {
		// Another region's provider: its own zones, or the same under its
		// name.
		standard, local = renamed(standard, region), renamed(local, region)
		if z, ok := m.RegionZones[region]; ok {
			standard = z
		}
	}
	names := slices.Clone(standard)
	if !strings.Contains(args["filters"].String(), "opt-in-not-required") {
		names = append(names, local...)
	}
	slices.Sort(names)
	var out []any
	for _, n := range names {
		out = append(out, n)
	}
	return resource.NewPropertyMapFromMap(map[string]any{"names": out})
}

func renamed(zones []string, region string) []string {
	out := make([]string, 0, len(zones))
	for _, z := range zones {
		out = append(out, region+strings.TrimPrefix(z, "eu-west-1"))
	}
	return out
}

// ProviderRegion is the region of an explicit AWS provider, from its
// reference; "" for the default provider.
func (m *Mocks) ProviderRegion(ref string) string {
	if ref == "" {
		return ""
	}
	urn := ref
	if i := strings.LastIndex(ref, "::"); i > 0 {
		urn = ref[:i] // drop the id
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.Resources {
		if r.Type == "pulumi:providers:aws" && strings.HasSuffix(urn, "::"+r.Name) {
			if v, ok := r.Inputs["region"]; ok && v.IsString() {
				return v.StringValue()
			}
		}
	}
	return ""
}

// Region is where a resource is created: its provider's region, or home
// for the default provider.
func (m *Mocks) Region(r Resource, home string) string {
	if region := m.ProviderRegion(r.Provider); region != "" {
		return region
	}
	return home
}

// Call answers the invokes (data sources) the program makes.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	m.mu.Lock()
	m.Invokes = append(m.Invokes, args.Token)
	m.InvokeProviders = append(m.InvokeProviders, args.Provider)
	m.mu.Unlock()
	switch args.Token {
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		return m.zones(args.Args, args.Provider), nil
	case "aws:ec2/getAmi:getAmi":
		return resource.NewPropertyMapFromMap(map[string]any{"id": "ami-0123456789abcdef0", "imageId": "ami-0123456789abcdef0", "architecture": "x86_64"}), nil
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{"accountId": "123456789012", "arn": "arn:aws:iam::123456789012:user/ci", "userId": "AIDA"}), nil
	case "aws:elb/getServiceAccount:getServiceAccount":
		return resource.NewPropertyMapFromMap(map[string]any{"arn": "arn:aws:iam::156460612806:root", "id": "156460612806"}), nil
	case "aws:index/getPartition:getPartition":
		return resource.NewPropertyMapFromMap(map[string]any{"partition": "aws", "dnsSuffix": "amazonaws.com"}), nil
	case "cloudflare:index/getIpRanges:getIpRanges":
		return resource.NewPropertyMapFromMap(map[string]any{
			"ipv4CidrBlocks": []any{"173.245.48.0/20", "103.21.244.0/22"},
			"ipv6CidrBlocks": []any{"2400:cb00::/32", "2606:4700::/32"},
			"cidrBlocks":     []any{"173.245.48.0/20", "103.21.244.0/22", "2400:cb00::/32", "2606:4700::/32"},
		}), nil
	}
	return nil, fmt.Errorf("testmocks: no mock for invoke %s", args.Token)
}

// Run runs fn under mocks for the given stack and config (keys without the
// project prefix; secret keys are marked secret).
func Run(project, stack string, config map[string]string, secretKeys []string, fn pulumi.RunFunc) (*Mocks, error) {
	return RunOn(&Mocks{}, project, stack, config, secretKeys, fn)
}

// RunOn is Run with prepared mocks (a region with other zones, say). As
// the CLI does, it also hands the configuration over in PULUMI_CONFIG, where
// the program lists the keys that are set (tests do not run in parallel).
func RunOn(m *Mocks, project, stack string, config map[string]string, secretKeys []string, fn pulumi.RunFunc) (*Mocks, error) {
	env := map[string]string{}
	for k, v := range config {
		if !strings.Contains(k, ":") {
			k = project + ":" + k
		}
		env[k] = v
	}
	js, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	old, had := os.LookupEnv(pulumi.EnvConfig)
	if err := os.Setenv(pulumi.EnvConfig, string(js)); err != nil {
		return nil, err
	}
	defer func() {
		if had {
			_ = os.Setenv(pulumi.EnvConfig, old)
		} else {
			_ = os.Unsetenv(pulumi.EnvConfig)
		}
	}()
	err = pulumi.RunErr(fn, pulumi.WithMocks(project, stack, m), func(ri *pulumi.RunInfo) {
		ri.Config = map[string]string{}
		for k, v := range config {
			if !strings.Contains(k, ":") {
				k = project + ":" + k
			}
			ri.Config[k] = v
		}
		for _, k := range secretKeys {
			if !strings.Contains(k, ":") {
				k = project + ":" + k
			}
			ri.ConfigSecretKeys = append(ri.ConfigSecretKeys, k)
		}
	})
	return m, err
}

// OfType returns the resources of a type token, in registration order.
func (m *Mocks) OfType(token string) []Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Resource
	for _, r := range m.Resources {
		if r.Type == token {
			out = append(out, r)
		}
	}
	return out
}

// Named returns the resource with the given type and name or fails the test.
func (m *Mocks) Named(t testing.TB, token, name string) Resource {
	t.Helper()
	for _, r := range m.OfType(token) {
		if r.Name == name {
			return r
		}
	}
	var names []string
	for _, r := range m.OfType(token) {
		names = append(names, r.Name)
	}
	t.Fatalf("no %s named %q; have %v", token, name, names)
	return Resource{}
}

// Value unwraps secrets and outputs and turns a property into plain Go values
// (string, float64, bool, []any, map[string]any).
func Value(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return Value(v.SecretValue().Element)
	case v.IsOutput():
		return Value(v.OutputValue().Element)
	case v.IsComputed():
		return nil
	}
	return v.Mappable()
}

// Str returns a top-level string input, or "" when absent.
func (r Resource) Str(key string) string {
	s, _ := Value(r.Inputs[resource.PropertyKey(key)]).(string)
	return s
}

// Get returns a top-level input as a plain Go value.
func (r Resource) Get(key string) any { return Value(r.Inputs[resource.PropertyKey(key)]) }

// IsSecret tells whether a top-level input is marked secret.
func (r Resource) IsSecret(key string) bool {
	v, ok := r.Inputs[resource.PropertyKey(key)]
	return ok && (v.IsSecret() || v.ContainsSecrets())
}

// JSON decodes a string input holding JSON (a policy, for example).
func (r Resource) JSON(t testing.TB, key string) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(r.Str(key)), &out); err != nil {
		t.Fatalf("%s %s: %s is not JSON: %v", r.Type, r.Name, key, err)
	}
	return out
}

// Tags returns the resource's tags input.
func (r Resource) Tags() map[string]any {
	t, _ := r.Get("tags").(map[string]any)
	return t
}
