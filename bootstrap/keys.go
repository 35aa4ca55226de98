package main

import "fmt"

// Key policies of the bootstrap keys. Each names its principals exactly:
// the key administrators (administration only), and the CI roles that use
// the key. There is no statement delegating to IAM policies ("Enable IAM
// User Permissions"), so no identity policy in the account can grant use
// of these keys.

// ciRoles are the ARNs of one stack's CI roles.
type ciRoles struct {
	Preview, Deploy string
}

func keyAdminStatement(admins []string) statement {
	return statement{Sid: "KeyAdministration", Effect: "Allow", Principal: map[string]any{"AWS": sorted(admins)},
		Action: sorted(keyAdminActions), Resource: []string{"*"}}
}

// s3Context limits a key-policy grant to S3 requests for the given objects:
// with S3 Bucket Keys off, S3 passes each object's ARN as the encryption
// context aws:s3:arn.
func s3Context(s *settings, objectARNs []string) map[string]map[string]any {
	return map[string]map[string]any{
		"StringEquals": {"kms:ViaService": fmt.Sprintf("s3.%s.amazonaws.com", s.Region)},
		"StringLike":   {"kms:EncryptionContext:aws:s3:arn": sorted(objectARNs)},
	}
}

// stateKeyPolicy: the state bucket's SSE-KMS key. Each role may use it only
// through S3 and only for its own stack's objects, so holding the key never
// opens another stack's state.
func stateKeyPolicy(s *settings, id ids, admins []string, roles map[string]ciRoles) policyDocument {
	sts := []statement{keyAdminStatement(admins)}
	for _, stack := range s.Stacks {
		o := stackObjects{stackProject, stack}
		r := roles[stack]
		sts = append(sts,
			statement{Sid: "PreviewReads" + sidPart(stack), Effect: "Allow", Principal: map[string]any{"AWS": r.Preview},
				Action: sorted(stateKeyReadActions), Resource: []string{"*"},
				Condition: s3Context(s, objectARNs(id.BucketARN, o.previewReads()))},
			statement{Sid: "DeployReadsAndWrites" + sidPart(stack), Effect: "Allow", Principal: map[string]any{"AWS": r.Deploy},
				Action: sorted(stateKeyWriteActions), Resource: []string{"*"},
				Condition: s3Context(s, objectARNs(id.BucketARN, append(o.deployReads(), o.deployWrites()...)))},
		)
	}
	return newPolicy(sts...)
}

// secretsKeyPolicy: one stack's awskms:// secrets provider key, usable by
// that stack's CI roles only.
func secretsKeyPolicy(admins []string, r ciRoles) policyDocument {
	return newPolicy(
		keyAdminStatement(admins),
		statement{Sid: "PreviewDecrypts", Effect: "Allow", Principal: map[string]any{"AWS": r.Preview},
			Action: sorted(secretsPreviewActions), Resource: []string{"*"}},
		statement{Sid: "DeployUses", Effect: "Allow", Principal: map[string]any{"AWS": r.Deploy},
			Action: sorted(secretsDeployActions), Resource: []string{"*"}},
	)
}

// sidPart makes a stack name usable in a statement id ([A-Za-z0-9]).
func sidPart(stack string) string {
	out := []byte{}
	up := true
	for i := 0; i < len(stack); i++ {
		c := stack[i]
		switch {
		case c == '-':
			up = true
			continue
		case up && c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		}
		up = false
		out = append(out, c)
	}
	return string(out)
}
