package playbook

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandFetchesSecretsAsUnsafeText runs the provisioning command for
// real with stand-ins for sudo, the SSM read, ansible-playbook and find: the
// variables from stdin and every secret reach Ansible as files, the
// secrets marked unsafe (never templated) even when they look like a
// template, and nothing is left behind.
func TestCommandFetchesSecretsAsUnsafeText(t *testing.T) {
	dir := t.TempDir()
	bin, out := filepath.Join(dir, "bin"), filepath.Join(dir, "out")
	for _, d := range []string{bin, out} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	stubs := map[string]string{
		// sudo: the SSM read answers a template-looking value per parameter;
		// anything else runs as is (ANSIBLE_CONFIG=... through env).
		"sudo": `#!/bin/sh
if [ "$1" = sh ] && [ "${2##*/}" = ssm-get ]; then printf '{{ lookup("pipe", "id") }} %s\n' "$3"; exit 0; fi
exec env "$@"`,
		"ansible-playbook": `#!/bin/sh
n=0
for a in "$@"; do case "$a" in @*) n=$((n+1)); cp "${a#@}" "$OUT/extra-$n.json"; ls -ld "$(dirname "${a#@}")" > "$OUT/dir-$n";; esac; done`,
		"find": "#!/bin/sh\nexit 0",
	}
	for name, body := range stubs {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body+"\n"), 0o700); err != nil { //nolint:gosec // stand-in programs must be executable
			t.Fatal(err)
		}
	}
	//nolint:gosec // SSM parameter names, not credentials
	cmd := exec.Command("sh", "-c", Command(strings.Repeat("ab", 32), "eu-west-1", map[string]string{
		"prometheus_web_password": "/promfed/dev/primary/web-password",
		"promfed_tls_key_pem":     "/promfed/dev/primary/tls-key",
	}))
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "OUT="+out, "TMPDIR="+dir)
	cmd.Stdin = strings.NewReader(`{"promfed_host_name": "primary"}`)
	if res, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("command: %v\n%s", err, res)
	}
	vars, err := os.ReadFile(filepath.Join(out, "extra-1.json"))
	if err != nil || string(vars) != `{"promfed_host_name": "primary"}` {
		t.Errorf("variables file %q (%v)", vars, err)
	}
	raw, err := os.ReadFile(filepath.Join(out, "extra-2.json"))
	if err != nil {
		t.Fatal(err)
	}
	var secrets map[string]map[string]string
	if err := json.Unmarshal(raw, &secrets); err != nil {
		t.Fatalf("secrets file %s: %v", raw, err)
	}
	want := map[string]string{ //nolint:gosec // the stand-in's answers, not credentials
		"prometheus_web_password": `{{ lookup("pipe", "id") }} /promfed/dev/primary/web-password`,
		"promfed_tls_key_pem":     `{{ lookup("pipe", "id") }} /promfed/dev/primary/tls-key`,
	}
	if len(secrets) != len(want) {
		t.Errorf("secrets %v", secrets)
	}
	for k, v := range want {
		if secrets[k]["__ansible_unsafe"] != v {
			t.Errorf("%s = %v, want the unsafe text %q", k, secrets[k], v)
		}
	}
	if perm, err := os.ReadFile(filepath.Join(out, "dir-2")); err != nil || !strings.HasPrefix(string(perm), "drwx------") {
		t.Errorf("secrets were written in a directory others can read: %s (%v)", perm, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "tmp.*"))
	if len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// The ready gate, run by sh against stand-ins for sudo, cloud-init and
// ansible-playbook: first-boot errors pass when Ansible is there (the
// playbook mounts the volume itself), and only a missing Ansible fails.
func TestReadyCommandFailsOnlyWithoutAnsible(t *testing.T) {
	cases := []struct {
		name        string
		status      int
		ansible     bool
		wantOK      bool
		wantMessage string
	}{
		{"clean first boot", 0, true, true, ""},
		{"recoverable errors", 2, true, true, "first boot reported errors"},
		{"mount timed out", 1, true, true, "the playbook mounts the data volume itself"},
		{"packages failed", 1, false, false, "ansible-playbook is missing"},
		{"no ansible although clean", 0, false, false, "ansible-playbook is missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bin := t.TempDir()
			write := func(name, body string) {
				t.Helper()
				if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil { //nolint:gosec // test stand-ins must be executable
					t.Fatal(err)
				}
			}
			write("sudo", `exec "$@"`)
			write("cloud-init", fmt.Sprintf(`[ "$2" = --long ] && echo "status: error (volume did not appear)"; exit %d`, tc.status))
			if tc.ansible {
				write("ansible-playbook", "exit 0")
			}
			cmd := exec.Command("/bin/sh", "-c", ReadyCommand)
			cmd.Env = []string{"PATH=" + bin} // nothing of the machine's own
			out, err := cmd.CombinedOutput()
			if ok := err == nil; ok != tc.wantOK {
				t.Fatalf("succeeded=%v, want %v; output:\n%s", ok, tc.wantOK, out)
			}
			if !strings.Contains(string(out), tc.wantMessage) {
				t.Errorf("output lacks %q:\n%s", tc.wantMessage, out)
			}
		})
	}
}
