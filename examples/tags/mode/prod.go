//go:build prod

package mode

// Mode is "prod" when built with -tags prod.
const Mode = "prod"
