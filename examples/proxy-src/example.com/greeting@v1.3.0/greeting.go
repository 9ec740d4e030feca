// Package greeting builds greetings (v1.3.0).
package greeting

// Hello returns a greeting for name.
func Hello(name string) string {
	return "Hi there, " + name + "! (greeting v1.3.0)"
}
