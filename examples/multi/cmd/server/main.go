// Command server pretends to be a server; it only prints (offline-safe).
package main

import (
	"fmt"

	"example.com/multi/internal/greet"
)

func main() {
	fmt.Println(greet.Greeting("server"))
}
