// Package add adds two int64 values, in assembly on amd64 and arm64
// and in pure Go everywhere else.
package add
