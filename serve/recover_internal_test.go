package serve

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/tcmsh/tcmsh/engine/control"
)

// A request the engine panics on is answered with an error naming it, and
// the daemon answers the next request.
func TestEnginePanicIsAnErrorAnswer(t *testing.T) {
	// statsEngine answers Stats only: Serve reaches its nil engine and panics.
	s := newServer(&statsEngine{}, slog.New(slog.NewTextHandler(io.Discard, nil)), 0, "test")
	params, _ := json.Marshal(control.PathParams{ConfigPath: "target/core/user_0/r1"})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	resp := s.call(context.Background(), log, control.Request{ID: 7, Method: control.MethodServe, Params: params})
	if resp.ID != 7 || resp.Error == nil || !strings.Contains(resp.Error.Message, "internal error in the daemon's engine (serve request)") {
		t.Fatalf("answer %+v", resp)
	}
	resp = s.call(context.Background(), log, control.Request{ID: 8, Method: control.MethodStats})
	if resp.Error != nil {
		t.Fatalf("the next request: %+v", resp.Error)
	}
}
