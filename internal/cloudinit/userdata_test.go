package cloudinit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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

const testParam = "/promfed/dev/bastion/ssh-host-key"

func TestUserDataWithoutVolume(t *testing.T) {
	args := UserDataArgs{HostKeyParameter: testParam, Region: "eu-west-1", HostKeyPublic: "ssh-ed25519 PUB bastion", ClientPublicKey: "ssh-ed25519 CLI x"}
	ud := RenderUserData(args)
	if strings.Contains(ud, "promfed-mount-data") || strings.Contains(ud, "packages:") {
		t.Errorf("bastion user data mounts a volume or installs packages:\n%s", ud)
	}
	if !strings.HasPrefix(ud, "#cloud-config\nssh_deletekeys: false\nssh_genkeytypes: []\nbootcmd:\n") || strings.Contains(ud, "ssh_keys") {
		t.Errorf("user data:\n%s", ud)
	}
	if ud != RenderUserData(args) {
		t.Error("user data is not deterministic")
	}
}

// cloud-init rejects the whole document on a YAML error, which would leave a
// host without its keys: parse it as cloud-init would.
func TestUserDataIsValidCloudConfig(t *testing.T) {
	ud := RenderUserData(UserDataArgs{
		HostKeyParameter: "/promfed/dev/primary/ssh-host-key", Region: "eu-west-1", HostKeyPublic: "ssh-ed25519 PUB h",
		ClientPublicKey: "ssh-ed25519 CLI c", VolumeID: "vol-0abc", Packages: []string{"ansible"},
	})
	var doc struct {
		SSHKeys  map[string]string `yaml:"ssh_keys"`
		Delete   bool              `yaml:"ssh_deletekeys"`
		Bootcmd  []string          `yaml:"bootcmd"`
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
	if doc.SSHKeys != nil || doc.Delete {
		t.Errorf("cloud-init may install or delete keys: ssh_keys %v, ssh_deletekeys %v", doc.SSHKeys, doc.Delete)
	}
	if len(doc.Bootcmd) != 1 || doc.Bootcmd[0] != HostKeyScript("/promfed/dev/primary/ssh-host-key", "eu-west-1", "ssh-ed25519 PUB h") {
		t.Errorf("the host key script does not survive YAML: %q", doc.Bootcmd)
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

func TestHostKeyScriptIsValidShell(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Fatal("shellcheck is required (apt-get install shellcheck)")
	}
	path := filepath.Join(t.TempDir(), "hostkey.sh")
	for _, script := range []string{HostKeyScript(testParam, "eu-west-1", "ssh-ed25519 AAAA it's"), SSMGetScript("eu-west-1")} {
		if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(sc, "-s", "sh", path).CombinedOutput(); err != nil {
			t.Fatalf("shellcheck: %v\n%s", err, out)
		}
	}
}

// TestHostKeyScriptAgainstAFakeSSM runs the boot script for real, as root
// in a private mount namespace (tmpfs over /etc/ssh and /etc/promfed),
// against an SSM stand-in on loopback that checks the request the way SSM
// would: SigV4 for the ssm service and region, the session token, the
// GetParameter target and body.
func TestHostKeyScriptAgainstAFakeSSM(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for mount namespaces (CI runs as root)")
	}
	// A throwaway key made here, so no key material lives in the repository.
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Fatal("ssh-keygen is required (apt-get install openssh-client)")
	}
	keyFile := filepath.Join(t.TempDir(), "k")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "promfed-test", "-f", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	privateKey := string(raw)
	header := strings.SplitN(privateKey, "\n", 2)[0]
	var mu sync.Mutex
	var seen []string
	keyReads := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		auth := r.Header.Get("Authorization")
		seen = append(seen, auth)
		var req struct {
			Name           string
			WithDecryption bool
		}
		if json.Unmarshal(body, &req) == nil && req.Name == "/promfed/dev/bastion/web-password" && req.WithDecryption {
			_ = json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{"Value": "it's a s3cret"}})
			return
		}
		keyReads++
		switch {
		case keyReads > 1: // the later runs see SSM failing
			w.WriteHeader(http.StatusBadRequest)
			return
		case !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTESTHOSTKEY/") || !strings.Contains(auth, "/eu-west-1/ssm/aws4_request"),
			r.Header.Get("X-Amz-Security-Token") != "session-token-1",
			r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameter",
			json.Unmarshal(body, &req) != nil || req.Name != testParam || !req.WithDecryption:
			http.Error(w, "bad request "+auth+" "+string(body), http.StatusForbidden)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{"Name": testParam, "Type": "SecureString", "Value": privateKey}})
	}))
	defer srv.Close()

	dir := t.TempDir()
	script, get := filepath.Join(dir, "hostkey.sh"), filepath.Join(dir, "get.sh")
	if err := os.WriteFile(script, []byte(HostKeyScript(testParam, "eu-west-1", "ssh-ed25519 AAAAPUB promfed")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(get, []byte(SSMGetScript("eu-west-1")), 0o600); err != nil {
		t.Fatal(err)
	}
	env := "SSM_ENDPOINT=" + srv.URL + "\nAWS_ACCESS_KEY_ID=AKIDTESTHOSTKEY\nAWS_SECRET_ACCESS_KEY=test-secret\nAWS_SESSION_TOKEN=session-token-1\n"
	inner := `set -eu
mount -t tmpfs none /etc/ssh && mount -t tmpfs none /etc/promfed 2>/dev/null || { mkdir -p /etc/promfed && mount -t tmpfs none /etc/promfed; }
printf '%s' "$ENVFILE" > /etc/promfed/aws.env
sh "$SCRIPT"
echo "mode=$(stat -c %a /etc/ssh/ssh_host_ed25519_key) pubmode=$(stat -c %a /etc/ssh/ssh_host_ed25519_key.pub)"
echo "key=$(head -1 /etc/ssh/ssh_host_ed25519_key)"
echo "pub=$(cat /etc/ssh/ssh_host_ed25519_key.pub)"
echo "left=$(ls -A /etc/ssh | grep -c promfed-host-key || true)"
echo "get=[$(sh "$GET" /promfed/dev/bastion/web-password)]"
if sh "$SCRIPT" 2>"$DIR/err"; then echo "kept=$(head -1 /etc/ssh/ssh_host_ed25519_key)"; else echo "kept=failed"; fi
rm /etc/ssh/ssh_host_ed25519_key
if sh "$SCRIPT" 2>/dev/null; then echo nokey=booted; else echo nokey=refused; fi
`
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", inner)
	cmd.Env = append(os.Environ(), "SCRIPT="+script, "GET="+get, "DIR="+dir, "ENVFILE="+env)
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("host key script: %v\n%s\nrequests: %q", err, res, seen)
	}
	for _, want := range []string{"mode=600 pubmode=644\n", "key=" + header + "\n",
		"pub=ssh-ed25519 AAAAPUB promfed\n", "left=0\n", "get=[it's a s3cret]\n", "kept=" + header + "\n", "nokey=refused\n"} {
		if !strings.Contains(string(res), want) {
			t.Errorf("want %q in:\n%s\nrequests: %q", want, res, seen)
		}
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

// First boot and the playbook's data_volume role mount the volume the same
// way: the devices the role gets (DataDevices) are the ones the script
// tries, in order, and the role's defaults are the script's label, fstab
// options, mount point and wait.
func TestMountScriptAndDataVolumeRoleAgree(t *testing.T) {
	devices := DataDevices("vol-0123456789abcdef0")
	if want := "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0"; devices[0] != want {
		t.Errorf("first device %q, want %q", devices[0], want)
	}
	loop := `for d in "` + nvmeByID + `$vol" ` + strings.Join(devices[1:], " ") + "; do"
	if !strings.Contains(MountScript, loop) {
		t.Errorf("the mount script does not try %v in this order (want the line %q)", devices, loop)
	}
	raw, err := os.ReadFile("../../ansible/roles/data_volume/defaults/main.yml")
	if err != nil {
		t.Fatal(err)
	}
	var defaults struct {
		MountPoint string `yaml:"data_volume_mount_point"`
		Label      string `yaml:"data_volume_label"`
		Options    string `yaml:"data_volume_mount_options"`
		Wait       int    `yaml:"data_volume_wait"`
	}
	if err := yaml.Unmarshal(raw, &defaults); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"mkfs.ext4 -q -L " + defaults.Label + ` "$dev"`,
		`echo "UUID=$uuid $mnt ext4 ` + defaults.Options + ` 0 2"`,
		"wait=${PROMFED_DEVICE_WAIT:-" + strconv.Itoa(defaults.Wait) + "}",
	} {
		if !strings.Contains(MountScript, want) {
			t.Errorf("the role's defaults and the mount script differ: the script lacks %q", want)
		}
	}
	if defaults.MountPoint != DataMountPoint {
		t.Errorf("role mounts on %q, first boot on %q", defaults.MountPoint, DataMountPoint)
	}
}

// User data is part of every instance (UserDataReplaceOnChange): a change to
// its bytes replaces every host of every stack at the next up. This pins
// them; update the digest only with a change that is worth that.
func TestUserDataBytesArePinned(t *testing.T) {
	got := RenderUserData(UserDataArgs{
		HostKeyParameter: "/promfed/dev/secondary-apps-1/ssh-host-key", Region: "eu-west-1",
		HostKeyPublic: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA host", ClientPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB client",
		VolumeID: "vol-0123456789abcdef0", Packages: []string{"ansible", "python3-passlib"},
	})
	sum := sha256.Sum256([]byte(got))
	if d := hex.EncodeToString(sum[:]); d != pinnedUserData {
		t.Errorf("user data changed (sha256 %s, pinned %s): every instance would be replaced", d, pinnedUserData)
	}
}

const pinnedUserData = "382de206b1dad629eb8c7fd9bfbfcc13493f406aa475fc466cbe34c1dc9bfa06"
