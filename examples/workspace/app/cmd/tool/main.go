// Command tool is a second binary in the app module that also uses lib.
package main

import (
	"fmt"

	"example.com/lib"
)

func main() {
	fmt.Println(lib.Message("tool"))
}
