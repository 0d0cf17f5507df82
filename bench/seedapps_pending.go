package bench

import (
	"context"
	"errors"
	"io"

	"lijiang/platform"
)

// SeedApps is being written on branch h-apps100k; this placeholder is removed by that merge.
func SeedApps(ctx context.Context, dataDir, raftAddr string, sealer platform.Sealer, n int, progress io.Writer) error {
	return errors.New("--apps: not available yet")
}
