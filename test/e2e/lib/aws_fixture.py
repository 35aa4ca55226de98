"""AWS fixture of the end-to-end suite, run with boto3 against moto (the emulator).

seed        a VPC and a subnet whose CIDR is the test network's, one EC2 instance per
            workload host with that host's private IP (so that the addresses EC2 discovery
            returns reach the real workload containers) and its tags, and an SNS topic with
            an SQS queue subscribed to it, plus one queue per --shard-queue SHARD subscribed
            with the filter policy the program gives a shard's own subscribers. Prints what
            it made as JSON.
read-queue  prints (and deletes) the messages waiting in the queue, one JSON line each.
put-secure-parameters
            reads a JSON object {name: value} on stdin and stores each entry as an SSM
            SecureString parameter (the stack hosts' SSH host keys and other secrets),
            then reads them back to check the values survived.

It runs from the suite's Debian 13 root (bookworm has no moto or recent boto3) inside the
ctl namespace; the endpoint is the moto server inside the test network.
"""

import argparse
import json
import sys

import boto3

def client(args, service):
    return boto3.client(service, endpoint_url=args.endpoint, region_name=args.region)


def seed(args):
    ec2 = client(args, "ec2")
    vpc = ec2.create_vpc(CidrBlock=args.cidr)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=args.cidr)["Subnet"]["SubnetId"]
    # moto ships a catalogue of images; any of them will do.
    images = ec2.describe_images()["Images"]
    if not images:
        sys.exit("moto offers no image to run instances from")
    image = sorted(i["ImageId"] for i in images)[0]
    instances = []
    for spec in args.instance:
        name, ip, team = spec.split("=")
        tags = [{"Key": "Name", "Value": name}, {"Key": "Team", "Value": team},
                {"Key": "Service", "Value": "workload"}]
        got = ec2.run_instances(
            ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro",
            SubnetId=subnet, PrivateIpAddress=ip,
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )["Instances"][0]
        if got["PrivateIpAddress"] != ip:
            sys.exit(f"moto gave {name} the address {got['PrivateIpAddress']}, not {ip}")
        instances.append({"name": name, "ip": ip, "team": team, "id": got["InstanceId"]})

    sns = client(args, "sns")
    sqs = client(args, "sqs")
    topic = sns.create_topic(Name=args.topic)["TopicArn"]
    queue = sqs.create_queue(QueueName=args.topic)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    shard_queues = {}
    for shard in args.shard_queue:
        url = sqs.create_queue(QueueName=f"{args.topic}-{shard}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={
            "FilterPolicy": json.dumps({"shard": [shard]}), "FilterPolicyScope": "MessageAttributes"})
        shard_queues[shard] = url
    json.dump({"topic_arn": topic, "queue_url": queue, "shard_queues": shard_queues,
               "instances": instances}, sys.stdout)
    print()


def read_queue(args):
    sqs = client(args, "sqs")
    while True:
        got = sqs.receive_message(QueueUrl=args.queue_url, MaxNumberOfMessages=10,
                                  WaitTimeSeconds=1).get("Messages", [])
        if not got:
            return
        for msg in got:
            print(json.dumps(json.loads(msg["Body"])))
            sqs.delete_message(QueueUrl=args.queue_url, ReceiptHandle=msg["ReceiptHandle"])


def put_secure_parameters(args):
    ssm = client(args, "ssm")
    params = json.load(sys.stdin)
    for name, value in params.items():
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
    # GetParameters, not GetParameter: the checks count the hosts' GetParameter requests.
    # It takes at most 10 names a call.
    names, got = list(params), {}
    for i in range(0, len(names), 10):
        got.update({p["Name"]: p for p in ssm.get_parameters(
            Names=names[i:i + 10], WithDecryption=True)["Parameters"]})
    for name, value in params.items():
        if name not in got or got[name]["Type"] != "SecureString" or got[name]["Value"] != value:
            sys.exit(f"moto does not give back {name} as stored")
    print(f"{len(params)} SecureString parameters: {' '.join(sorted(params))}")


def volume(args):
    """An EBS volume in moto: the data volume promfed snapshot is pointed at."""
    ec2 = client(args, "ec2")
    zone = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    vol = ec2.create_volume(AvailabilityZone=zone, Size=args.size, VolumeType="gp3")
    print(vol["VolumeId"])


def snapshots(args):
    """The snapshots of a volume, as JSON: id, state and tags."""
    ec2 = client(args, "ec2")
    got = ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [args.volume]}])["Snapshots"]
    print(json.dumps([{"id": s["SnapshotId"], "state": s["State"],
                       "tags": {t["Key"]: t["Value"] for t in s.get("Tags", [])}} for s in got]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", required=True)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("seed")
    p.add_argument("--cidr", required=True)
    p.add_argument("--topic", required=True, help="name of the SNS topic and of the SQS queue")
    p.add_argument("--instance", action="append", default=[], help="NAME=IP=TEAM")
    p.add_argument("--shard-queue", action="append", default=[], help="SHARD: a queue for that shard only")
    p = sub.add_parser("read-queue")
    p.add_argument("--queue-url", required=True)
    sub.add_parser("put-secure-parameters")
    p = sub.add_parser("volume")
    p.add_argument("--size", type=int, default=8)
    p = sub.add_parser("snapshots")
    p.add_argument("--volume", required=True)
    args = parser.parse_args()
    {"seed": seed, "read-queue": read_queue, "put-secure-parameters": put_secure_parameters,
     "volume": volume, "snapshots": snapshots}[args.cmd](args)


if __name__ == "__main__":
    main()
