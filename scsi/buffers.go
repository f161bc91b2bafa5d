package scsi

// Helpers over a command's buffer list (iovec-like [][]byte). A transfer may
// span any number of buffers of any sizes, and the list may hold more or less
// than the CDB asks for; these never touch anything outside the buffers.

// totalLen is the total size of a buffer list.
func totalLen(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

// scatter copies src into the buffer list from its start and returns the
// number of bytes copied (less than len(src) when the buffers are smaller).
func scatter(bufs [][]byte, src []byte) int {
	done := 0
	for _, b := range bufs {
		if done == len(src) {
			break
		}
		done += copy(b, src[done:])
	}
	return done
}

// gather copies the start of the buffer list into dst and returns the number
// of bytes copied (less than len(dst) when the buffers hold less).
func gather(dst []byte, bufs [][]byte) int {
	done := 0
	for _, b := range bufs {
		if done == len(dst) {
			break
		}
		done += copy(dst[done:], b)
	}
	return done
}

// cursor walks a buffer list, handing out contiguous pieces.
type cursor struct {
	bufs [][]byte
	i    int // current buffer
	off  int // offset in the current buffer
}

// next returns the next contiguous piece of at most max bytes; it is empty
// at the end of the list.
func (c *cursor) next(max int) []byte {
	for c.i < len(c.bufs) {
		b := c.bufs[c.i][c.off:]
		if len(b) == 0 {
			c.i++
			c.off = 0
			continue
		}
		if len(b) > max {
			b = b[:max]
		}
		c.off += len(b)
		if c.off == len(c.bufs[c.i]) {
			c.i++
			c.off = 0
		}
		return b
	}
	return nil
}

// allZero reports whether every byte of p is zero.
func allZero(p []byte) bool {
	for len(p) >= 8 {
		if p[0]|p[1]|p[2]|p[3]|p[4]|p[5]|p[6]|p[7] != 0 {
			return false
		}
		p = p[8:]
	}
	for _, b := range p {
		if b != 0 {
			return false
		}
	}
	return true
}

// firstDifference returns the index of the first byte where a and b differ,
// or -1 when they are equal over the shorter length.
func firstDifference(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}
