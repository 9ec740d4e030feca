//go:build linux

// Package linuxonly has only linux-constrained files; on other GOOS
// values it has no buildable Go files. Nothing imports it.
package linuxonly

import "os"

// PID returns the current process id (via /proc on linux).
func PID() string {
	p, err := os.Readlink("/proc/self")
	if err != nil {
		return ""
	}
	return p
}
