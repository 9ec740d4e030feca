// Package greet is an internal package shared by the multi binaries.
package greet

// Greeting returns a greeting from the named component.
func Greeting(from string) string {
	return "hello from " + from
}
