package tcmu

// haveTSC says rdtsc reads the time-stamp counter.
const haveTSC = true

// rdtsc reads the time-stamp counter (in stats_amd64.s).
func rdtsc() int64
