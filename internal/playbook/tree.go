package playbook

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// TreeHash is a content hash of the Ansible tree: every regular file's
// relative path, executable bit and bytes. Editing any role changes it and
// so re-runs provisioning on every host; touching timestamps does not.
func TreeHash(dir string) (string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir // editor and lint caches are not part of the tree
		}
		if d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hashing the Ansible tree %s: %w", dir, err)
	}
	if len(files) == 0 {
		return "", fmt.Errorf("hashing the Ansible tree %s: no files found", dir)
	}
	sort.Strings(files)
	h := sha256.New()
	for _, path := range files {
		rel, _ := filepath.Rel(dir, path)
		info, err := os.Stat(path)
		if err != nil {
			return "", err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%t\x00%d\x00", filepath.ToSlash(rel), info.Mode()&0o111 != 0, len(body))
		h.Write(body)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Hash is the hex SHA-256 of a string: instance ids and variables enter
// triggers hashed, so a trigger never shows a secret.
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
