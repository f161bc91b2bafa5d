package serve

import (
	"context"

	"github.com/tcmsh/tcmsh/engine"
)

// statsEngine is an engine that only answers Stats, for collector tests
// inside the package (servetest imports serve, so it cannot be used here).
type statsEngine struct {
	engine.Engine
	stats []engine.DeviceStats
}

func (e *statsEngine) Stats(context.Context) ([]engine.DeviceStats, error) { return e.stats, nil }
