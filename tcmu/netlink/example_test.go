package netlink_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os/signal"
	"syscall"

	"github.com/tcmsh/tcmsh/tcmu/netlink"
)

// Follow TCM-USER events until interrupted, without ever answering them.
func ExampleListen() {
	l, err := netlink.Listen(netlink.Config{
		Handler: func(ev netlink.Event) error {
			fmt.Println(ev)
			return nil
		},
		Errors: func(err error) { log.Print(err) },
	})
	if errors.Is(err, netlink.ErrNotLoaded) {
		fmt.Println(err) // go on by scanning /sys/class/uio
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT)
	defer stop()
	if err := l.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
