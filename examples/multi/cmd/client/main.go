// Command client pretends to be a client; it only prints (offline-safe).
package main

import (
	"fmt"

	"example.com/multi/internal/greet"
	"example.com/multi/pkg/strutil"
)

func main() {
	msg := greet.Greeting("client")
	fmt.Println(msg)
	fmt.Println(strutil.Reverse(msg))
}
