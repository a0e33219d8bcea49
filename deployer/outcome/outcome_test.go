package outcome

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCodeOfEachClass(t *testing.T) {
	base := errors.New("engine: deploy /app##002 on n2: FAIL")
	tests := []struct {
		err  error
		code int
		name string
	}{
		{nil, 0, "success"},
		{base, 1, "preflight_failed"},
		{Classify(ErrPreflight, base), 1, "preflight_failed"},
		{Classify(ErrUsage, base), 2, "usage"},
		{Classify(ErrRolledBack, base), 3, "rolled_back"},
		{Classify(ErrNeedsAttention, base), 4, "needs_attention"},
		{Classify(ErrLocked, base), 5, "locked"},
		{Classify(ErrNothingToDo, base), 6, "nothing_to_do"},
		{Classify(ErrPaused, base), 7, "paused"},
		{Classify(ErrInterrupted, base), 130, "interrupted"},
		{context.Canceled, 130, "interrupted"},
		{fmt.Errorf("tomcatmgr: list on n1: %w", context.Canceled), 130, "interrupted"},
		{fmt.Errorf("lock: held by ci-42: %w", ErrLocked), 5, "locked"},
		{ErrPaused, 7, "paused"},
		{context.DeadlineExceeded, 1, "preflight_failed"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.code, Code(tt.err), "%v", tt.err)
		assert.Equal(t, tt.name, Name(tt.err), "%v", tt.err)
	}
}

func TestClassSurvivesWrapping(t *testing.T) {
	err := Classify(ErrRolledBack, errors.New("health check failed on n1"))
	err = fmt.Errorf("release 002: %w", WithHint(err, "see zdd status"))
	assert.Equal(t, 3, Code(err))
	assert.Equal(t, "release 002: health check failed on n1", err.Error())
	assert.Equal(t, "see zdd status", Hint(err))
}

func TestPrecedence(t *testing.T) {
	canceledMidway := errors.Join(Classify(ErrNeedsAttention, errors.New("n2 half deployed")), context.Canceled)
	assert.Equal(t, 4, Code(canceledMidway), "needs attention beats interrupted")
	assert.Equal(t, 130, Code(errors.Join(Classify(ErrRolledBack, errors.New("x")), context.Canceled)))
	assert.Equal(t, 5, Code(Classify(ErrPreflight, Classify(ErrLocked, errors.New("x")))))
	assert.Equal(t, 2, Code(Classify(ErrPreflight, Classify(ErrUsage, errors.New("x")))))
}

func TestHint(t *testing.T) {
	assert.Equal(t, "", Hint(nil))
	assert.Equal(t, "", Hint(errors.New("x")))
	inner := WithHint(errors.New("x"), "inner")
	assert.Equal(t, "outer", Hint(WithHint(inner, "outer")))
	assert.Equal(t, "inner", Hint(fmt.Errorf("a: %w", Classify(ErrLocked, inner))))
	assert.Equal(t, "inner", Hint(errors.Join(errors.New("y"), inner)))
	assert.Nil(t, WithHint(nil, "h"))
	assert.Nil(t, Classify(ErrLocked, nil))
}

func TestWithHintKeepsClass(t *testing.T) {
	err := WithHint(Classify(ErrLocked, errors.New("held by ci-42")), "raise --lock-wait")
	assert.ErrorIs(t, err, ErrLocked)
	assert.Equal(t, 5, Code(err))
}

func TestTableCoversEveryClass(t *testing.T) {
	table := Table()
	require.Len(t, table, len(precedence)+1)
	byCode := map[int]Info{}
	for _, info := range table {
		byCode[info.Code] = info
		assert.NotEmpty(t, info.Meaning)
		assert.NotEmpty(t, info.Pipeline)
	}
	for _, c := range precedence {
		info, ok := byCode[Code(c)]
		require.True(t, ok, "code %d missing from Table", Code(c))
		assert.Equal(t, Name(c), info.Name)
	}
	assert.Equal(t, "success", byCode[0].Name)
}
