//go:build !linux

package platform

// Name describes the platform family this package was built for.
const Name = "not-linux"
