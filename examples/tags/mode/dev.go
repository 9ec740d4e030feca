//go:build !prod

package mode

// Mode is "dev" unless built with -tags prod.
const Mode = "dev"
