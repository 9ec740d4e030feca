// Command moddep uses a module dependency (example.com/greeting), which is
// served from a local file:// GOPROXY built from ../proxy-src.
package main

import (
	"fmt"

	"example.com/greeting"
	"example.com/greeting/fancy"
)

func main() {
	fmt.Println(greeting.Hello("gobuildr"))
	fmt.Println(fancy.Hello("gobuildr"))
}
