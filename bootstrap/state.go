package main

// Where Pulumi's self-managed (diy) S3 backend keeps one stack, and which of
// those objects each CI role reads and writes. Measured with the real CLI
// by test/backend (make test-backend), which replays a preview and an update
// against exactly these grants: a preview reads the backend metadata, the
// stack's checkpoint and its tags, and writes nothing (no lock); an update
// also takes and releases a lock, writes the checkpoint (and its .bak),
// history and a backup.

// stackObjects are the key patterns of one stack, relative to the bucket.
type stackObjects struct {
	project, stack string
}

func (o stackObjects) checkpoint() []string {
	base := ".pulumi/stacks/" + o.project + "/" + o.stack
	return []string{base + ".json", base + ".json.bak", base + ".json.gz", base + ".json.gz.bak"}
}

func (o stackObjects) tags() string {
	return ".pulumi/stacks/" + o.project + "/" + o.stack + ".pulumi-tags"
}

func (o stackObjects) history() string { return ".pulumi/history/" + o.project + "/" + o.stack + "/*" }

func (o stackObjects) backups() string { return ".pulumi/backups/" + o.project + "/" + o.stack + "/*" }

// locks: self-managed backends have the one organization "organization".
func (o stackObjects) locks() string {
	return ".pulumi/locks/organization/" + o.project + "/" + o.stack + "/*"
}

const backendMeta = ".pulumi/meta.yaml"

// previewReads is every object a preview reads.
func (o stackObjects) previewReads() []string {
	return append([]string{backendMeta, o.tags()}, o.checkpoint()...)
}

// deployReads: a preview's reads plus history (the update summary) and
// its own lock.
func (o stackObjects) deployReads() []string {
	return append(o.previewReads(), o.history(), o.locks())
}

// deployWrites: checkpoint, history, backups and the lock.
func (o stackObjects) deployWrites() []string {
	return append(o.checkpoint(), o.history(), o.backups(), o.locks())
}

// deployDeletes: only the lock; a CI role never deletes state.
func (o stackObjects) deployDeletes() []string { return []string{o.locks()} }

func objectARNs(bucketARN string, keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = bucketARN + "/" + k
	}
	return out
}

// listStatement: without s3:ListBucket on the bucket, S3 answers a GET of a
// missing object (a stack's tags file, say) with 403 instead of 404, which
// fails the CLI. ListBucket reveals key names, never contents.
func listStatement(bucketARN string) statement {
	return statement{Sid: "ListStateBucket", Effect: "Allow", Action: []string{"s3:ListBucket"}, Resource: []string{bucketARN}}
}

// previewStateStatements are a preview role's S3 grant: read-only, its
// own stack only.
func previewStateStatements(bucketARN string, o stackObjects) []statement {
	return []statement{
		listStatement(bucketARN),
		{Sid: "ReadOwnStack", Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: objectARNs(bucketARN, o.previewReads())},
	}
}

// deployStateStatements are a deploy role's S3 grant on its own stack.
func deployStateStatements(bucketARN string, o stackObjects) []statement {
	return []statement{
		listStatement(bucketARN),
		{Sid: "ReadOwnStack", Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: objectARNs(bucketARN, o.deployReads())},
		{Sid: "WriteOwnStack", Effect: "Allow", Action: []string{"s3:PutObject"}, Resource: objectARNs(bucketARN, o.deployWrites())},
		{Sid: "ReleaseOwnLock", Effect: "Allow", Action: []string{"s3:DeleteObject"}, Resource: objectARNs(bucketARN, o.deployDeletes())},
	}
}
