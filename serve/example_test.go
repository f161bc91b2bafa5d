package serve_test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/tcmsh/tcmsh/configfs"
	"github.com/tcmsh/tcmsh/engine"
	"github.com/tcmsh/tcmsh/serve"
)

// How `tcmsh serve` is wired in main: the flags fill Options, the engine
// is created by Run once it holds the socket's lock, and the shell's
// restoreconfig is the Restore hook. Run returns nil after SIGTERM.
func ExampleRun() {
	var lio *configfs.LIO // the real kernel's configfs model, opened by main
	restoreconfig := func(ctx context.Context, eng engine.Engine, file string) error {
		return fmt.Errorf("the shell's restoreconfig of %s goes here", file)
	}

	opts := serve.Options{
		NewEngine: func(log *slog.Logger) (engine.Engine, error) {
			return engine.NewLocal(engine.Options{LIO: lio, AutoServe: true, Logf: serve.Logf(log)})
		},
		Restore: restoreconfig,
		Version: "1.0.0",
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	serve.BindFlags(fs, &opts) // --socket --allow-uid --metrics --restore[=FILE] --log-file --log-format --log-level
	if err := fs.Parse(os.Args[2:]); err != nil {
		os.Exit(2)
	}
	if err := serve.Run(context.Background(), opts); err != nil {
		fmt.Fprintf(os.Stderr, "tcmsh serve: %v\n", err)
		os.Exit(1)
	}
}
