// Command asmdemo prints the result of the assembly-backed add.Add.
package main

import (
	"fmt"

	"example.com/asm/add"
)

func main() {
	fmt.Println(add.Add(2, 3))
}
