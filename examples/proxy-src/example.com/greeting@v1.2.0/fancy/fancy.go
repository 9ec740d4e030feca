// Package fancy decorates greetings (v1.2.0).
package fancy

import "example.com/greeting"

// Hello returns a decorated greeting for name.
func Hello(name string) string {
	return "*** " + greeting.Hello(name) + " ***"
}
