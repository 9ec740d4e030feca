// Package lib is a library module resolved through go.work (no proxy version).
package lib

// Message returns a message for the named caller.
func Message(caller string) string {
	return "lib says hi to " + caller
}
