// Command tags prints values chosen by //go:build constraints.
package main

import (
	"fmt"

	"example.com/tags/mode"
	"example.com/tags/platform"
)

func main() {
	fmt.Println("mode:", mode.Mode)
	fmt.Println("platform:", platform.Name)
}
