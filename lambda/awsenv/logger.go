package awsenv

import (
	"log"
	"log/slog"
	"os"
	"strings"
)

// Logger returns the function's logger, JSON lines on stdout, and routes the
// standard log package (which aws-lambda-go and the SDK write through)
// into it, so that every line a function writes is JSON.
func Logger() *slog.Logger {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	log.SetFlags(0)
	log.SetOutput(logLines{logger})
	return logger
}

// logLines turns each write of the standard logger into one JSON line.
type logLines struct{ logger *slog.Logger }

func (l logLines) Write(p []byte) (int, error) {
	l.logger.Warn("library", "message", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
