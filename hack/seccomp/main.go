// Command seccomp writes the seccomp profile of Landlord's operator container:
// containerd's default profile for a container without capabilities (what
// RuntimeDefault gives it), plus the calls bubblewrap needs to build its
// sandbox — new namespaces (clone, clone3, unshare), and inside them mount,
// umount2, pivot_root and the sandbox's host name (sethostname, setdomainname). `make seccomp` runs it; the output is checked in.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/containerd/containerd/contrib/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func main() {
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}}
	profile := seccomp.DefaultProfile(spec)
	kept := profile.Syscalls[:0]
	for _, rule := range profile.Syscalls {
		// The default answers clone3 with ENOSYS and allows clone only without
		// namespace flags when CAP_SYS_ADMIN is missing: both go, replaced below.
		if len(rule.Names) == 1 && (rule.Names[0] == "clone3" || rule.Names[0] == "clone") {
			continue
		}
		kept = append(kept, rule)
	}
	profile.Syscalls = append(kept, specs.LinuxSyscall{
		Names:  []string{"clone", "clone3", "unshare", "mount", "umount2", "pivot_root", "sethostname", "setdomainname"},
		Action: specs.ActAllow,
	})
	out, err := json.MarshalIndent(profile, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}
