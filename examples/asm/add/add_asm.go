//go:build amd64 || arm64

package add

// Add returns a + b. Implemented in add_amd64.s / add_arm64.s.
//
//go:noescape
func Add(a, b int64) int64
