package m2mauth

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Intervals a cron() expression can say are spread over the interval by a
// hash of the client's name; the others keep rate(N days).
func TestRotationRulesSpreadClientsOverTheInterval(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		days    int
		pattern string
		slots   int // distinct windows 1,000 clients reach at least (about 90% of n(1-e^(-1000/n)) for n windows)
	}{
		{1, `^cron\(0 \d+ \* \* \? \*\)$`, 23},
		{7, `^cron\(0 \d+ \? \* [1-7] \*\)$`, 7 * 23},
		{30, `^cron\(0 \d+ \d+ \* \? \*\)$`, 450},
		{90, `^cron\(0 \d+ \d+ [1-3]/3 \? \*\)$`, 700},
		{360, `^cron\(0 \d+ \d+ \d+/12 \? \*\)$`, 850},
	} {
		seen := map[string]bool{}
		for i := range 1000 {
			expr, window := rotationRules(time.Duration(tc.days)*day, fmt.Sprintf("partner-%04d", i))
			assert.Regexp(t, tc.pattern, expr, "%d days", tc.days)
			assert.Equal(t, "2h", window)
			seen[expr] = true
		}
		assert.GreaterOrEqual(t, len(seen), tc.slots, "%d days: distinct windows", tc.days)
		assert.True(t, SpreadsRotations(time.Duration(tc.days)*day))
	}
	a, _ := rotationRules(90*day, "Partner-A")
	b, _ := rotationRules(90*day, "partner-a")
	assert.Equal(t, a, b, "names compare as m2mauth compares client names: case ignored")
	for _, days := range []int{2, 45, 100, 1000} {
		expr, window := rotationRules(time.Duration(days)*day, "x")
		assert.Equal(t, fmt.Sprintf("rate(%d days)", days), expr)
		assert.Empty(t, window)
		assert.False(t, SpreadsRotations(time.Duration(days)*day))
	}
}
