// Hand-written helpers over the generated SDK (kept by .openapi-generator-ignore):
//
//   - Pages and All: every page, or every item, of any list operation, following the answer's
//     next cursor where it has one and the offset otherwise;
//   - WaitForDagRun: wait for a run to finish with GET .../dagRuns/{dag_run_id}/wait, however
//     long it takes (asking again each time the server's longest wait has passed);
//   - TriggerAndWait: trigger a run, then wait for it.
package windsock

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"time"
)

// MaxWait is the longest timeout one wait request may ask for (the contract's maximum).
const MaxWait = time.Hour

var (
	// ErrWaitTimedOut: the run had not finished when the wait's timeout passed.
	ErrWaitTimedOut = errors.New("the DAG run has not finished in time")
	// ErrRunDeleted: the run was deleted while it was waited for.
	ErrRunDeleted = errors.New("the DAG run was deleted while waited for")
)

// PageRequest is the request of a list operation, such as ApiGetDagRunsRequest.
type PageRequest[R any, P any] interface {
	Offset(offset int32) R
	Execute() (P, *http.Response, error)
}

// Collection is the answer of a list operation, such as *DAGRunCollection.
type Collection interface {
	GetTotalEntries() int32
}

// Pages yields every page of the list operation that request calls, from its first item: the
// page of the answer's next cursor where the answer has one (and the request takes a cursor),
// else the next offset, until total_entries items were seen. items gives a page's items, e.g.
// (*DAGRunCollection).GetDagRuns. An error ends the pages.
func Pages[R PageRequest[R, P], P Collection, T any](request R, items func(P) []T) iter.Seq2[P, error] {
	return func(yield func(P, error) bool) {
		var seen int32
		following := false // a cursor
		request = request.Offset(0)
		for {
			page, _, err := request.Execute()
			if !yield(page, err) || err != nil {
				return
			}
			cursorPage, hasCursor := any(page).(interface{ GetNextCursor() string })
			cursorRequest, takesCursor := any(request).(interface{ Cursor(cursor string) R })
			if hasCursor && takesCursor && cursorPage.GetNextCursor() != "" {
				request, following = cursorRequest.Cursor(cursorPage.GetNextCursor()), true
				continue
			}
			got := int32(len(items(page)))
			seen += got
			if following || got == 0 || seen >= page.GetTotalEntries() {
				return
			}
			request = request.Offset(seen)
		}
	}
}

// All yields every item of every page of the list operation that request calls (see Pages),
// or the error that ended them.
func All[R PageRequest[R, P], P Collection, T any](request R, items func(P) []T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for page, err := range Pages(request, items) {
			if err != nil {
				var none T
				yield(none, err)
				return
			}
			for _, item := range items(page) {
				if !yield(item, nil) {
					return
				}
			}
		}
	}
}

// WaitOptions tunes WaitForDagRun; the zero value waits as long as the run takes.
type WaitOptions struct {
	// Timeout bounds the whole wait; 0 waits as long as the run takes.
	Timeout time.Duration
	// Result names the tasks whose return values the last line carries in Results.
	Result []string
	// OnState, when set, sees every line of the wait as it is read.
	OnState func(DAGRunWaitLine)
}

// waitOnce makes one wait request of at most MaxWait and returns its last line.
func waitOnce(ctx context.Context, client *APIClient, dagID, runID string, wait time.Duration, opts WaitOptions) (*DAGRunWaitLine, error) {
	request := client.DAGRunAPI.WaitDagRunUntilFinished(ctx, dagID, runID).Timeout(float32(wait.Seconds()))
	if len(opts.Result) > 0 {
		request = request.Result(opts.Result)
	}
	// The generated method reads the whole answer, which ends with the wait; its decoder does
	// not read newline-delimited JSON, so the lines are read here from the answer it returns.
	_, response, err := request.Execute()
	if response == nil || response.StatusCode != http.StatusOK {
		return nil, err
	}
	var last *DAGRunWaitLine
	lines := bufio.NewScanner(response.Body)
	lines.Buffer(make([]byte, 0, 64*1024), 64<<20) // results may be long lines
	for lines.Scan() {
		if len(bytes.TrimSpace(lines.Bytes())) == 0 {
			continue
		}
		var line DAGRunWaitLine
		if err := json.Unmarshal(lines.Bytes(), &line); err != nil {
			return nil, fmt.Errorf("a line of the wait: %w", err)
		}
		last = &line
		if opts.OnState != nil {
			opts.OnState(line)
		}
	}
	if err := lines.Err(); err != nil {
		return nil, err
	}
	if last == nil || !(last.GetTimedOut() || last.GetDeleted() || last.GetState() == DAGRUNSTATE_SUCCESS || last.GetState() == DAGRUNSTATE_FAILED) {
		return nil, errors.New("the wait ended without its last line")
	}
	return last, nil
}

// WaitForDagRun waits until the run has finished and returns the wait's last line: its state
// and, for the tasks named in opts.Result, their return values in Results. When opts.Timeout
// passes first, it returns the last line seen with ErrWaitTimedOut; when the run is deleted
// meanwhile, ErrRunDeleted. What the server refuses comes as the generated methods' errors.
// One request waits at most MaxWait, and at most three quarters of the configuration's
// HTTPClient.Timeout when it has one; then it asks again.
func WaitForDagRun(ctx context.Context, client *APIClient, dagID, runID string, opts WaitOptions) (*DAGRunWaitLine, error) {
	deadline := time.Now().Add(opts.Timeout)
	for {
		wait := MaxWait
		if opts.Timeout > 0 {
			wait = min(max(time.Until(deadline), 0), MaxWait)
		}
		// An HTTP client that gives up on answers sooner gets shorter waits, asked again.
		if hc := client.GetConfig().HTTPClient; hc != nil && hc.Timeout > 0 {
			wait = min(wait, hc.Timeout*3/4)
		}
		last, err := waitOnce(ctx, client, dagID, runID, wait, opts)
		switch {
		case err != nil:
			return nil, err
		case last.GetDeleted():
			return last, ErrRunDeleted
		case !last.GetTimedOut():
			return last, nil
		case opts.Timeout > 0 && !time.Now().Before(deadline):
			return last, fmt.Errorf("%w: run %s of DAG %s is still %s after %s", ErrWaitTimedOut, runID, dagID, last.GetState(), opts.Timeout)
		}
	}
}

// TriggerAndWait triggers a run of the DAG as body describes it, then waits for it as
// WaitForDagRun does: the run as triggered, and the wait's last line.
func TriggerAndWait(ctx context.Context, client *APIClient, dagID string, body DAGRunCreate, opts WaitOptions) (*DAGRun, *DAGRunWaitLine, error) {
	run, _, err := client.DAGRunAPI.PostDagRun(ctx, dagID).DAGRunCreate(body).Execute()
	if err != nil {
		return nil, nil, err
	}
	last, err := WaitForDagRun(ctx, client, dagID, run.GetDagRunId(), opts)
	return run, last, err
}
