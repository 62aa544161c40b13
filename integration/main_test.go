package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// roleEnv names the role a re-executed test binary plays (roles_test.go).
const roleEnv = "HARE_INTEG_ROLE"

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role, os.Args[1:]))
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// needNetns skips t unless the integration tests may run here: asked for
// with HARE_INTEGRATION=1, as root, with the tools they drive.
func needNetns(t *testing.T, tools ...string) {
	t.Helper()
	if os.Getenv("HARE_INTEGRATION") != "1" {
		t.Skip("integration tests run only with HARE_INTEGRATION=1 (scripts/test.sh sets it as root)")
	}
	if os.Geteuid() != 0 {
		t.Skip("integration tests need root (network namespaces, nftables)")
	}
	for _, tool := range append([]string{"ip", "nft", "conntrack", "ping"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("integration tests need %s (apt-get install %s)", tool, debPackage(tool))
		}
	}
}

func debPackage(tool string) string {
	switch tool {
	case "ip":
		return "iproute2"
	case "nft":
		return "nftables"
	case "ping":
		return "iputils-ping"
	}
	return tool
}

var (
	buildOnce sync.Once
	buildDir  string
	hareBin   string
	buildErr  error
	buildOut  []byte
)

// hareBinary builds cmd/hare once per test run and returns its path.
func hareBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "hare-integ-")
		if buildErr != nil {
			return
		}
		hareBin = filepath.Join(buildDir, "hare")
		cmd := exec.Command(goTool(), "build", "-o", hareBin, "github.com/hare-fw/hare/cmd/hare")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/hare: %v\n%s", buildErr, buildOut)
	}
	return hareBin
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}
