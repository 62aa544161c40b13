package capture

// Limits, for tests in package capture_test.
const (
	MaxCapture = maxCapture
	MaxArena   = maxArena
)
