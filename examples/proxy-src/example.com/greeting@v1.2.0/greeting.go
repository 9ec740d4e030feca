// Package greeting builds greetings (v1.2.0).
package greeting

// Hello returns a greeting for name.
func Hello(name string) string {
	return "Hello, " + name + "!"
}
