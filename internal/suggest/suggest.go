// Package suggest finds the word the user probably meant: "did you mean"
// for unknown commands, keys, paths and preferences.
package suggest

import "strings"

// Nearest returns the candidate nearest to s (edit distance), when it is
// near enough to be what was meant; "" otherwise.
func Nearest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := levenshtein(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" && (bestD <= 2 || bestD <= len(s)/3 || strings.HasPrefix(best, s)) {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
