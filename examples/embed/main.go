// Command embed shows //go:embed of a single file (string) and of a
// directory tree (embed.FS, including a nested subdirectory).
package main

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

//go:embed version.txt
var version string

//go:embed assets
var assets embed.FS

func main() {
	fmt.Println("version:", strings.TrimSpace(version))
	err := fs.WalkDir(assets, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := assets.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %s\n", path, strings.TrimSpace(string(b)))
		return nil
	})
	if err != nil {
		panic(err)
	}
}
