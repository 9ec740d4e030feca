//go:build !amd64 && !arm64

package add

// Add returns a + b (pure-Go fallback).
func Add(a, b int64) int64 {
	return a + b
}
