package backends_test

import (
	"errors"
	"fmt"

	"github.com/tcmsh/tcmsh/backends"
)

func ExampleOpen() {
	// A 1 GiB device in memory whose reads fail after 2 operations.
	b, err := backends.Open("fault/ram/;fail_after=2;sense=medium;ops=read", 1<<30, 512)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	p := make([]byte, 512)
	for range 3 {
		_, err := b.ReadAt(p, 0)
		var sense *backends.SenseError
		if errors.As(err, &sense) {
			fmt.Printf("CHECK CONDITION %x/%02x/%02x\n", sense.Key, sense.ASC, sense.ASCQ)
		} else {
			fmt.Println("GOOD")
		}
	}
	// Output:
	// GOOD
	// GOOD
	// CHECK CONDITION 3/11/00
}

func ExampleValidate() {
	fmt.Println(backends.Validate("fault/ram/;delay=2x", 1<<20))
	fmt.Println(backends.Validate("ram/chunk=64k;zero=1", 1<<20))
	fmt.Println(backends.Validate("null/", 1<<20))
	// Output:
	// fault: option "delay": "2x" is not a duration (e.g. 2ms)
	// ram: unknown option "zero" (valid: chunk)
	// <nil>
}
