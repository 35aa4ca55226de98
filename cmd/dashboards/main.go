// Command dashboards writes the stack's Grafana dashboards, defined in Go in
// internal/dashboards, to a folder (dashboards/ by default): `make
// dashboards`. With -check it writes nothing and fails when a file differs
// from what the code generates.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/promfed/promfed/internal/dashboards"
)

func main() {
	dir := flag.String("dir", "dashboards", "folder the JSON files go to")
	check := flag.Bool("check", false, "only compare the files with the code")
	flag.Parse()
	if err := run(*dir, *check); err != nil {
		fmt.Fprintln(os.Stderr, "dashboards:", err)
		os.Exit(1)
	}
}

func run(dir string, check bool) error {
	all, err := dashboards.All()
	if err != nil {
		return err
	}
	for _, d := range all {
		path := filepath.Join(dir, d.File)
		if check {
			have, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(have, d.JSON) {
				return fmt.Errorf("%s is stale: run make dashboards and commit it", path)
			}
			continue
		}
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
		if err := os.WriteFile(path, d.JSON, 0o644); err != nil { //nolint:gosec // dashboards are public files
			return err
		}
		fmt.Println("wrote", path)
	}
	return nil
}
