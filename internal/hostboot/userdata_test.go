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
	if err := os.WriteFile(path, []byte(MountScript), 0o600); err != nil {
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
		HostKeyPrivate: "key-line-1\nkey-line-2\nkey-line-3\n", HostKeyPublic: "ssh-ed25519 PUB h",
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
	if doc.SSHKeys["ed25519_private"] != "key-line-1\nkey-line-2\nkey-line-3\n" || doc.SSHKeys["ed25519_public"] != "ssh-ed25519 PUB h" {
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

// TestMountScriptOnALoopDevice runs the mount script for real, as root, in a
// private mount namespace: a loop device stands in for the Nitro NVMe volume
// (linked under its by-id name) and a scratch file for /etc/fstab.
func TestMountScriptOnALoopDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for losetup and mount namespaces (CI runs as root)")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "mount.sh")
	img := filepath.Join(dir, "disk.img")
	if err := os.WriteFile(script, []byte(MountScript), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(createFile(t, img), 64<<20); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "-f", "--show", img).Output()
	if err != nil {
		t.Fatalf("losetup: %v", err)
	}
	loop := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("losetup", "-d", loop).Run() })

	inner := `set -eu
mkdir -p /dev/disk && mount -t tmpfs none /dev/disk && mkdir -p /dev/disk/by-id
ln -s "$LOOP" /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0abc123
: > "$DIR/fstab"; mount --bind "$DIR/fstab" /etc/fstab
sh "$SCRIPT" vol-0abc123 "$DIR/mnt"
echo kept > "$DIR/mnt/marker"
umount "$DIR/mnt"
sh "$SCRIPT" vol-0abc123 "$DIR/mnt"
echo "marker=$(cat "$DIR/mnt/marker")"
echo "fstab=$(grep -c "^UUID=.* $DIR/mnt ext4 defaults,nofail,noatime 0 2$" /etc/fstab)"
echo "fs=$(blkid -o value -s TYPE "$LOOP")"
umount "$DIR/mnt"
if PROMFED_DEVICE_WAIT=2 sh "$SCRIPT" vol-0missing "$DIR/other" 2>"$DIR/err"; then echo missing=accepted; else echo "missing=$(cat "$DIR/err")"; fi
`
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", inner)
	cmd.Env = append(os.Environ(), "LOOP="+loop, "DIR="+dir, "SCRIPT="+script)
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mount script: %v\n%s", err, res)
	}
	got := string(res)
	for _, want := range []string{"marker=kept\n", "fstab=1\n", "fs=ext4\n", "missing=promfed-mount-data: volume vol-0missing did not appear\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in:\n%s", want, got)
		}
	}
}

func createFile(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	return path
}
