package fanout

import (
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestEachKeepsOrderAndRunsAtOnce(t *testing.T) {
	var running, most atomic.Int32
	out, errs := Each([]int{1, 2, 3, 4}, func(i int) (string, error) {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(50 * time.Millisecond)
		running.Add(-1)
		if i == 3 {
			return "", errors.New("three failed")
		}
		return strconv.Itoa(i * 10), nil
	})
	assert.Equal(t, []string{"10", "20", "", "40"}, out)
	assert.Equal(t, int32(4), most.Load(), "every call ran at the same time")
	i, err := First(errs)
	assert.Equal(t, 2, i)
	assert.EqualError(t, err, "three failed")
	i, err = First([]error{nil, nil})
	assert.Equal(t, -1, i)
	assert.NoError(t, err)
}

func TestEachLimitRunsNoMoreThanLimit(t *testing.T) {
	var running, most atomic.Int32
	items := []int{1, 2, 3, 4, 5, 6, 7}
	out, errs := EachLimit(items, 3, func(i int) (int, error) {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		running.Add(-1)
		return i * 2, nil
	})
	assert.Equal(t, []int{2, 4, 6, 8, 10, 12, 14}, out)
	assert.Equal(t, int32(3), most.Load(), "three calls at the most, and three at once")
	_, err := First(errs)
	assert.NoError(t, err)
}
