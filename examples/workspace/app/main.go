// Command app imports example.com/lib, which is resolved by the go.work
// "use ./lib" directive rather than a require in go.mod.
package main

import (
	"fmt"

	"example.com/lib"
)

func main() {
	fmt.Println(lib.Message("app"))
}
