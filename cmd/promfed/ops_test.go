package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// fakeEC2 answers CreateSnapshot and then the given states, one per
// DescribeSnapshots.
type fakeEC2 struct {
	created *ec2.CreateSnapshotInput
	states  []types.SnapshotState
	asked   int
}

func (f *fakeEC2) CreateSnapshot(_ context.Context, in *ec2.CreateSnapshotInput, _ ...func(*ec2.Options)) (*ec2.CreateSnapshotOutput, error) {
	f.created = in
	return &ec2.CreateSnapshotOutput{SnapshotId: aws.String("snap-0fedcba9876543210"), State: types.SnapshotStatePending}, nil
}

func (f *fakeEC2) DescribeSnapshots(_ context.Context, in *ec2.DescribeSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error) {
	s := f.states[f.asked]
	f.asked++
	return &ec2.DescribeSnapshotsOutput{Snapshots: []types.Snapshot{{SnapshotId: aws.String(in.SnapshotIds[0]), State: s,
		Progress:     aws.String(map[types.SnapshotState]string{types.SnapshotStatePending: "40%", types.SnapshotStateCompleted: "100%"}[s]),
		StateMessage: aws.String("KMS key disabled")}}}, nil
}

func runSnapshot(t *testing.T, f *fakeEC2, args ...string) (string, string, error) {
	t.Helper()
	snapshotPoll = time.Millisecond
	e, out, errOut := testEnv(strings.ReplaceAll(stackOutputs, "%URL%", "https://x"), nil)
	var region string
	e.ec2 = func(_ context.Context, r string) (ec2API, error) { region = r; return f, nil }
	err := run(context.Background(), append([]string{"snapshot"}, args...), e)
	if err == nil && region != "eu-west-1" {
		t.Errorf("EC2 client for region %q, want the stack's eu-west-1", region)
	}
	return out.String(), errOut.String(), err
}

// A host of another region is snapshotted there, where its volume is.
func TestSnapshotInTheHostsRegion(t *testing.T) {
	snapshotPoll = time.Millisecond
	outputs := strings.Replace(strings.ReplaceAll(stackOutputs, "%URL%", "https://x"),
		`"dataVolumeId": "vol-0123456789abcdef0"}`, `"dataVolumeId": "vol-0123456789abcdef0", "region": "us-east-1"}`, 1)
	e, _, _ := testEnv(outputs, nil)
	var region string
	f := &fakeEC2{states: []types.SnapshotState{types.SnapshotStateCompleted}}
	e.ec2 = func(_ context.Context, r string) (ec2API, error) { region = r; return f, nil }
	if err := run(context.Background(), []string{"snapshot", "secondary-apps-1"}, e); err != nil {
		t.Fatal(err)
	}
	if region != "us-east-1" {
		t.Errorf("EC2 client for region %q, want the host's us-east-1", region)
	}
}

func TestSnapshotWaitsAndTags(t *testing.T) {
	f := &fakeEC2{states: []types.SnapshotState{types.SnapshotStatePending, types.SnapshotStatePending, types.SnapshotStateCompleted}}
	out, progress, err := runSnapshot(t, f, "-json", "secondary-apps-1")
	if err != nil {
		t.Fatal(err)
	}
	var res SnapshotResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res != (SnapshotResult{Host: "secondary-apps-1", VolumeID: "vol-0123456789abcdef0", SnapshotID: "snap-0fedcba9876543210", State: "completed"}) || f.asked != 3 {
		t.Errorf("result %+v after %d polls", res, f.asked)
	}
	if aws.ToString(f.created.VolumeId) != "vol-0123456789abcdef0" {
		t.Errorf("snapshot of %s", aws.ToString(f.created.VolumeId))
	}
	tags := map[string]string{}
	for _, tag := range f.created.TagSpecifications[0].Tags {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	if tags["Name"] != "secondary-apps-1-data" || tags["promfed:host"] != "secondary-apps-1" {
		t.Errorf("tags %v", tags)
	}
	// One progress line per state change, not per poll.
	if lines := strings.Split(strings.TrimSpace(progress), "\n"); len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "snapshot of secondary-apps-1: snap-0fedcba9876543210 pending 40% (") ||
		!strings.HasPrefix(lines[1], "snapshot of secondary-apps-1: snap-0fedcba9876543210 completed 100% (") {
		t.Errorf("progress:\n%s", progress)
	}
}

func TestSnapshotNoWaitAndFailure(t *testing.T) {
	f := &fakeEC2{}
	out, _, err := runSnapshot(t, f, "-no-wait", "secondary-apps-1")
	if err != nil || f.asked != 0 || out != "snap-0fedcba9876543210 pending of vol-0123456789abcdef0 (secondary-apps-1)\nto restore it: promfed restore secondary-apps-1 snap-0fedcba9876543210\n" {
		t.Errorf("-no-wait: %v after %d polls:\n%s", err, f.asked, out)
	}
	f = &fakeEC2{states: []types.SnapshotState{types.SnapshotStateError}}
	if _, _, err := runSnapshot(t, f, "secondary-apps-1"); err == nil || err.Error() != "snapshot: snap-0fedcba9876543210 failed: KMS key disabled" {
		t.Errorf("failed snapshot: %v", err)
	}
}

func TestProgressLinesOnChangeOrInterval(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	p := newProgress(&buf, "waiting", func() time.Time { return now })
	for _, step := range []struct {
		after time.Duration
		state string
	}{{5 * time.Second, "a"}, {5 * time.Second, "a"}, {20 * time.Second, "a"}, {time.Second, "b"}} {
		now = now.Add(step.after)
		p.update(step.state)
	}
	if got := buf.String(); got != "waiting: a (5s)\nwaiting: a (30s)\nwaiting: b (31s)\n" {
		t.Errorf("progress:\n%s", got)
	}
}

// fakePulumi is a pulumi executable that logs its arguments, answers
// `config get` from files named after the key, and fails `preview` when
// FAKE_PREVIEW_FAILS is set.
func fakePulumi(t *testing.T, config map[string]string) (bin, log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "calls")
	for key, value := range config {
		if err := os.WriteFile(filepath.Join(dir, key+".json"), []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	script := `#!/bin/sh
echo "$*" >> "` + log + `"
case "$1 $2" in
"config get") cat "` + dir + `/$3.json" ;;
"preview --diff") echo "Previewing update (prod)"; [ -z "$FAKE_PREVIEW_FAILS" ] || { echo "error: restoreSnapshots: host is not a host" >&2; exit 1; } ;;
esac
`
	bin = filepath.Join(dir, "pulumi")
	if err := os.WriteFile(bin, []byte(script), 0o700); err != nil { //nolint:gosec // an executable test script
		t.Fatal(err)
	}
	return bin, log
}

func calls(t *testing.T, log string) string {
	t.Helper()
	b, _ := os.ReadFile(log)
	return string(b)
}

const shardsConfig = `{"value":"...","objectValue":[{"name":"apps","secondaries":2},{"name":"data"}],"secret":false}`

func TestRestoreSetsTheConfigAndPreviews(t *testing.T) {
	bin, log := fakePulumi(t, map[string]string{"promfed:restoreSnapshots": `{"value":"[]","objectValue":[{"host":"secondary-data-1","snapshot":"snap-01234567"}],"secret":false}`})
	e, out, errOut := testEnv("", map[string]string{"PROMFED_PULUMI": bin})
	if err := run(context.Background(), []string{"restore", "-stack", "prod", "secondary-apps-1", "snap-0123456789abcdef0"}, e); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	want := `config get promfed:restoreSnapshots --json --stack prod --non-interactive
config set --path promfed:restoreSnapshots[1].host secondary-apps-1 --stack prod --non-interactive
config set --path promfed:restoreSnapshots[1].snapshot snap-0123456789abcdef0 --stack prod --non-interactive
preview --diff --stack prod --non-interactive
`
	if got := calls(t, log); got != want {
		t.Errorf("pulumi calls:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(out.String(), "Previewing update (prod)") || !strings.Contains(out.String(), "restoreSnapshots[1] is now secondary-apps-1 from snap-0123456789abcdef0") ||
		!strings.Contains(errOut.String(), "secondary-apps-1's data volume, its attachment, instance and -playbook replaced") {
		t.Errorf("output:\n%s\n%s", out, errOut)
	}
}

func TestRestoreUndoneWhenThePreviewFails(t *testing.T) {
	bin, log := fakePulumi(t, map[string]string{"promfed:restoreSnapshots": `{"value":"[]","objectValue":[],"secret":false}`})
	e, _, _ := testEnv("", map[string]string{"PROMFED_PULUMI": bin})
	t.Setenv("FAKE_PREVIEW_FAILS", "1")
	err := run(context.Background(), []string{"restore", "secondary-apps-9", "snap-0123456789abcdef0"}, e)
	if err == nil || !strings.Contains(err.Error(), "the preview failed, restoreSnapshots[0] is back to (none)") {
		t.Errorf("got %v", err)
	}
	if got := calls(t, log); !strings.HasSuffix(got, "preview --diff --non-interactive\nconfig rm --path promfed:restoreSnapshots[0] --non-interactive\n") {
		t.Errorf("pulumi calls:\n%s", got)
	}
}

func TestRestoreReplacesTheHostsEntry(t *testing.T) {
	bin, log := fakePulumi(t, map[string]string{"promfed:restoreSnapshots": `{"objectValue":[{"host":"secondary-apps-1","snapshot":"snap-01234567"}]}`})
	e, out, _ := testEnv("", map[string]string{"PROMFED_PULUMI": bin})
	if err := run(context.Background(), []string{"restore", "-no-preview", "-json", "secondary-apps-1", "snap-89abcdef"}, e); err != nil {
		t.Fatal(err)
	}
	var res EditResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || res != (EditResult{Key: "restoreSnapshots[0].snapshot", Old: "snap-01234567", New: "snap-89abcdef"}) {
		t.Errorf("result %+v (%v)", res, err)
	}
	if got := calls(t, log); strings.Contains(got, "preview") || !strings.Contains(got, "config set --path promfed:restoreSnapshots[0].snapshot snap-89abcdef") {
		t.Errorf("pulumi calls:\n%s", got)
	}
	e, _, _ = testEnv("", map[string]string{"PROMFED_PULUMI": bin})
	if err := run(context.Background(), []string{"restore", "secondary-apps-1", "snap-01234567"}, e); err == nil ||
		err.Error() != "restore: restoreSnapshots already restores secondary-apps-1 from snap-01234567" {
		t.Errorf("same snapshot again: %v", err)
	}
}

func TestScale(t *testing.T) {
	bin, log := fakePulumi(t, map[string]string{"promfed:shards": shardsConfig})
	e, _, errOut := testEnv("", map[string]string{"PROMFED_PULUMI": bin})
	if err := run(context.Background(), []string{"scale", "data", "3"}, e); err != nil {
		t.Fatal(err)
	}
	if got := calls(t, log); !strings.Contains(got, "config set --path promfed:shards[1].secondaries 3 --non-interactive\npreview --diff") {
		t.Errorf("pulumi calls:\n%s", got)
	}
	if !strings.Contains(errOut.String(), "shards[1].secondaries: 1 -> 3") {
		t.Errorf("stderr:\n%s", errOut)
	}
	e, _, errOut = testEnv("", map[string]string{"PROMFED_PULUMI": bin})
	if err := run(context.Background(), []string{"scale", "-no-preview", "apps", "1"}, e); err != nil ||
		errOut.String() != "shards[0].secondaries: 2 -> 1\n" {
		t.Errorf("scale down: %v\n%s", err, errOut)
	}
	t.Setenv("FAKE_PREVIEW_FAILS", "1")
	for _, tc := range [][2]string{
		{"scale web 2", `scale: the stack has no shard "web": its shards are [apps data]`},
		{"scale apps 2", "scale: shard apps already has 2 secondaries"},
		{"scale apps 4", "the preview failed, shards[0].secondaries is back to 2"},
	} {
		e, _, _ := testEnv("", map[string]string{"PROMFED_PULUMI": bin})
		if err := run(context.Background(), strings.Fields(tc[0]), e); err == nil || !strings.Contains(err.Error(), tc[1]) {
			t.Errorf("%s: %v, want %q", tc[0], err, tc[1])
		}
	}
	if got := calls(t, log); !strings.HasSuffix(got, "config set --path promfed:shards[0].secondaries 2 --non-interactive\n") {
		t.Errorf("no undo after the failed preview:\n%s", got)
	}
}

func TestCostOfAnExport(t *testing.T) {
	export := `{"version":3,"deployment":{"resources":[
 {"urn":"urn:pulumi:prod::promfed::pulumi:pulumi:Stack::promfed-prod","type":"pulumi:pulumi:Stack","custom":false},
 {"urn":"urn:pulumi:prod::promfed::pulumi:providers:aws::default_6_83_0","type":"pulumi:providers:aws","custom":true,"inputs":{"region":"us-east-1"}},
 {"urn":"urn:pulumi:prod::promfed::promfed:prometheus:Server$aws:ec2/instance:Instance::primary-a","type":"aws:ec2/instance:Instance","custom":true,
  "inputs":{"instanceType":"m6i.large","rootBlockDevice":{"volumeSize":16}}},
 {"urn":"urn:pulumi:prod::promfed::promfed:network:Network$aws:ec2/natGateway:NatGateway::promfed-nat-1","type":"aws:ec2/natGateway:NatGateway","custom":true,"inputs":{}}
]}}`
	e, out, _ := testEnv(export, nil)
	if err := run(context.Background(), []string{"cost", "-json"}, e); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Region     string
		TotalUSD   float64
		Components []struct {
			Component  string
			MonthlyUSD float64
		}
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Region != "us-east-1" || len(r.Components) != 3 || r.Components[0].Component != "ebs volumes" ||
		r.Components[1].Component != "instances" || r.Components[2].Component != "nat gateways" || r.TotalUSD < 100 {
		t.Errorf("report %+v", r)
	}
	// A host in another region, through that region's provider, is
	// priced there.
	_, resources, err := exportedResources(strings.NewReader(`{"deployment":{"resources":[
 {"urn":"urn:pulumi:prod::promfed::pulumi:providers:aws::default_6_83_0","type":"pulumi:providers:aws","custom":true,"inputs":{"region":"eu-west-1"}},
 {"urn":"urn:pulumi:prod::promfed::pulumi:providers:aws::promfed-aws-us-east-1","type":"pulumi:providers:aws","custom":true,"inputs":{"region":"us-east-1"}},
 {"urn":"urn:pulumi:prod::promfed::promfed:prometheus:Server$aws:ec2/instance:Instance::secondary-us-1","type":"aws:ec2/instance:Instance","custom":true,
  "inputs":{"instanceType":"t3.medium"},"provider":"urn:pulumi:prod::promfed::pulumi:providers:aws::promfed-aws-us-east-1::04da6b54-80e4-46f7-96ec-b56ff0331ba9"},
 {"urn":"urn:pulumi:prod::promfed::promfed:prometheus:Server$aws:ec2/instance:Instance::primary-a","type":"aws:ec2/instance:Instance","custom":true,
  "inputs":{"instanceType":"t3.medium"},"provider":"urn:pulumi:prod::promfed::pulumi:providers:aws::default_6_83_0::1b2c"}
]}}`))
	if err != nil || len(resources) != 2 || resources[0].Region != "us-east-1" || resources[1].Region != "eu-west-1" {
		t.Errorf("regions of an export: %+v (%v)", resources, err)
	}
	e, _, _ = testEnv(`{"deployment":{"resources":[]}}`, nil)
	if err := run(context.Background(), []string{"cost"}, e); err == nil || !strings.Contains(err.Error(), "holds no resources") {
		t.Errorf("empty export: %v", err)
	}
}
