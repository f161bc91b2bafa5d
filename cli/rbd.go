//go:build rbd

package cli

// A tcmsh built with `-tags rbd,pacific` serves user:rbd backstores: the
// package registers the subtype. Without the tag, backends' placeholder
// says how to build it.
import _ "github.com/tcmsh/tcmsh/backends/rbd"
