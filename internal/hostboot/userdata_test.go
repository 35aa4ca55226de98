package hostboot

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestMountScriptIsValidShell(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Fatal("shellcheck is required (apt-get install shellcheck)")
	}
	path := filepath.Join(t.TempDir(), "mount.sh")
	if err := os.WriteFile(path, []byte(MountScript), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sc, "-s", "sh", path).CombinedOutput(); err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
}

func TestUserDataWithoutVolume(t *testing.T) {
	ud := RenderUserData(UserDataArgs{HostKeyPrivate: "K1\nK2", HostKeyPublic: "ssh-ed25519 PUB bastion", ClientPublicKey: "ssh-ed25519 CLI x"})
	if strings.Contains(ud, "promfed-mount-data") || strings.Contains(ud, "packages:") {
		t.Errorf("bastion user data mounts a volume or installs packages:\n%s", ud)
	}
	if !strings.Contains(ud, "ed25519_private: |\n    K1\n    K2\n") || !strings.HasPrefix(ud, "#cloud-config\n") {
		t.Errorf("user data:\n%s", ud)
	}
	if ud != RenderUserData(UserDataArgs{HostKeyPrivate: "K1\nK2", HostKeyPublic: "ssh-ed25519 PUB bastion", ClientPublicKey: "ssh-ed25519 CLI x"}) {
		t.Error("user data is not deterministic")
	}
}

// cloud-init rejects the whole document on a YAML error, which would leave a
// host without its keys: parse it as cloud-init would.
func TestUserDataIsValidCloudConfig(t *testing.T) {
	ud := RenderUserData(UserDataArgs{
		HostKeyPrivate: "-----BEGIN OPENSSH PRIVATE KEY-----\nAAA\n-----END OPENSSH PRIVATE KEY-----\n", HostKeyPublic: "ssh-ed25519 PUB h",
		ClientPublicKey: "ssh-ed25519 CLI c", VolumeID: "vol-0abc", Packages: []string{"ansible"},
	})
	var doc struct {
		SSHKeys  map[string]string `yaml:"ssh_keys"`
		Users    []any             `yaml:"users"`
		Packages []string          `yaml:"packages"`
		Files    []struct {
			Path, Content string
		} `yaml:"write_files"`
		Runcmd [][]string `yaml:"runcmd"`
	}
	if err := yaml.Unmarshal([]byte(ud), &doc); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, ud)
	}
	if !strings.HasPrefix(doc.SSHKeys["ed25519_private"], "-----BEGIN OPENSSH PRIVATE KEY-----\nAAA\n") || doc.SSHKeys["ed25519_public"] != "ssh-ed25519 PUB h" {
		t.Errorf("ssh_keys %v", doc.SSHKeys)
	}
	if len(doc.Files) != 1 || doc.Files[0].Content != MountScript {
		t.Errorf("the mount script does not survive YAML: %q", doc.Files)
	}
	if len(doc.Runcmd) != 1 || strings.Join(doc.Runcmd[0], " ") != "/usr/local/sbin/promfed-mount-data vol-0abc /var/lib/prometheus" {
		t.Errorf("runcmd %v", doc.Runcmd)
	}
	if len(doc.Users) != 2 || strings.Join(doc.Packages, ",") != "ansible" {
		t.Errorf("users %v packages %v", doc.Users, doc.Packages)
	}
}
