package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/promfed/promfed/internal/contract"
)

// ec2API is the part of EC2 snapshot uses.
type ec2API interface {
	CreateSnapshot(ctx context.Context, in *ec2.CreateSnapshotInput, opts ...func(*ec2.Options)) (*ec2.CreateSnapshotOutput, error)
	DescribeSnapshots(ctx context.Context, in *ec2.DescribeSnapshotsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error)
}

// newEC2 is a client for the stack's region with the default credential
// chain (AWS_PROFILE, SSO, environment; AWS_ENDPOINT_URL is honored).
func newEC2(ctx context.Context, region string) (ec2API, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("snapshot: AWS configuration: %w", err)
	}
	return ec2.NewFromConfig(cfg), nil
}

// SnapshotResult is what `promfed snapshot -json` prints.
type SnapshotResult struct {
	Host       string `json:"host"`
	VolumeID   string `json:"volumeId"`
	SnapshotID string `json:"snapshotId"`
	State      string `json:"state"`
}

// snapshotPoll is how often a snapshot's progress is asked for.
var snapshotPoll = 10 * time.Second

func cmdSnapshot(ctx context.Context, args []string, e *env) error {
	fs := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	fs.SetOutput(e.errOut)
	stack := fs.String("stack", "", "stack whose outputs to read when standard input is a terminal")
	noWait := fs.Bool("no-wait", false, "return once the snapshot is started")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("snapshot: name one host: " + usage)
	}
	o, _, err := loadOutputs(ctx, e, *stack)
	if err != nil {
		return err
	}
	h, err := hostOf(o, "snapshot", fs.Arg(0))
	if err != nil {
		return err
	}
	if h.DataVolumeID == "" {
		return fmt.Errorf("snapshot: the outputs name no dataVolumeId for %s: run `pulumi up` with this version first", fs.Arg(0))
	}
	region := o.Region
	if h.Region != "" {
		region = h.Region // the volume is in the host's region
	}
	api, err := e.ec2(ctx, region)
	if err != nil {
		return err
	}
	res, err := snapshot(ctx, api, fs.Arg(0), h.DataVolumeID, !*noWait, newProgress(e.errOut, "snapshot of "+fs.Arg(0), time.Now))
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.out, res)
	}
	fmt.Fprintf(e.out, "%s %s of %s (%s)\nto restore it: promfed restore %s %s\n", res.SnapshotID, res.State, res.VolumeID, res.Host, res.Host, res.SnapshotID)
	return nil
}

// snapshot starts an EBS snapshot of a host's data volume, tagged like the
// scheduled ones, and with wait polls until it completes. The snapshot is
// crash-consistent, as the scheduled ones are: Prometheus replays its WAL
// on a volume made from it.
func snapshot(ctx context.Context, api ec2API, host, volumeID string, wait bool, p *progress) (*SnapshotResult, error) {
	out, err := api.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{
		VolumeId:    aws.String(volumeID),
		Description: aws.String("promfed snapshot of " + host + " (promfed CLI)"),
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeSnapshot,
			Tags: []types.Tag{
				{Key: aws.String("Name"), Value: aws.String(host + "-data")},
				{Key: aws.String(contract.TagHost), Value: aws.String(host)},
			},
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot: creating a snapshot of %s (%s): %w", volumeID, host, err)
	}
	res := &SnapshotResult{Host: host, VolumeID: volumeID, SnapshotID: aws.ToString(out.SnapshotId), State: string(out.State)}
	msg := aws.ToString(out.StateMessage)
	for wait && res.State != string(types.SnapshotStateCompleted) {
		if res.State == string(types.SnapshotStateError) {
			return res, fmt.Errorf("snapshot: %s failed: %s", res.SnapshotID, msg)
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(snapshotPoll):
		}
		d, err := api.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{res.SnapshotID}})
		if err != nil {
			return res, fmt.Errorf("snapshot: asking for %s: %w", res.SnapshotID, err)
		}
		if len(d.Snapshots) != 1 {
			return res, fmt.Errorf("snapshot: %s is gone", res.SnapshotID)
		}
		s := d.Snapshots[0]
		res.State, msg = string(s.State), aws.ToString(s.StateMessage)
		p.update(fmt.Sprintf("%s %s %s", res.SnapshotID, res.State, aws.ToString(s.Progress)))
	}
	return res, nil
}
