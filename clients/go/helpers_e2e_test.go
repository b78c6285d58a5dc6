// End-to-end tests of the hand-written helpers (helpers.go): Pages and All over a list
// operation, and WaitForDagRun and TriggerAndWait with a running scheduler (see
// runs_e2e_test.go for WINDSOCK_TEST_SCHEDULER).
package windsock_test

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"slices"
	"testing"
	"time"

	windsock "github.com/windsock/windsock-go"
)

func TestPagesAndAll(t *testing.T) {
	client, ctx := server(t)
	prefix := unique("go_pages")
	var want []string
	for i := range 7 {
		key := prefix + "_" + string(rune('a'+i))
		want = append(want, key)
		_, _, err := client.VariableAPI.PostVariables(ctx).Variable(*windsock.NewVariable(key, "v")).Execute()
		must(t, "create "+key, err)
		t.Cleanup(func() { _, _ = client.VariableAPI.DeleteVariable(context.WithoutCancel(ctx), key).Execute() })
	}
	request := client.VariableAPI.GetVariables(ctx).Limit(3)
	keys := withPrefix(sortedNames(t, "list the variables", windsock.All(request, (*windsock.VariableCollection).GetVariables),
		func(variable windsock.Variable) string { return variable.GetKey() }), prefix)
	equal(t, "keys of every page", keys, want)

	var sizes []int
	var total int32
	for page, err := range windsock.Pages(request, (*windsock.VariableCollection).GetVariables) {
		must(t, "list the pages", err)
		sizes = append(sizes, len(page.GetVariables()))
		total = page.GetTotalEntries()
	}
	if len(sizes) != int(total+2)/3 || slices.Max(sizes) != 3 {
		t.Errorf("pages of %v items for %d entries", sizes, total)
	}

	// Stopping early stops asking.
	for _, err := range windsock.All(request, (*windsock.VariableCollection).GetVariables) {
		must(t, "first variable", err)
		break
	}
}

func TestWaitForDagRun(t *testing.T) {
	client, shortCtx := server(t)
	ctx := withScheduler(t, shortCtx)
	_, _, err := client.DAGAPI.PatchDag(ctx, xcomChainDag).DAGPatch(*windsock.NewDAGPatch(false)).UpdateMask([]string{"is_paused"}).Execute()
	must(t, "unpause "+xcomChainDag, err)
	t.Cleanup(func() {
		_, _, _ = client.DAGAPI.PatchDag(context.WithoutCancel(ctx), xcomChainDag).
			DAGPatch(*windsock.NewDAGPatch(true)).UpdateMask([]string{"is_paused"}).Execute()
	})

	// The test client gives up on answers after 30 s, so this wait of up to 90 s is asked in
	// pieces of at most 22.5 s.
	create := windsock.NewDAGRunCreate()
	create.SetDagRunId(unique("go_wait"))
	var states []windsock.DagRunState
	run, last, err := windsock.TriggerAndWait(ctx, client, xcomChainDag, *create, windsock.WaitOptions{
		Timeout: runTimeout, Result: []string{"transform", "load"},
		OnState: func(line windsock.DAGRunWaitLine) { states = append(states, line.GetState()) },
	})
	must(t, "trigger and wait", err)
	equal(t, "last state", last.GetState(), windsock.DAGRUNSTATE_SUCCESS)
	equal(t, "states seen last", states[len(states)-1], windsock.DAGRUNSTATE_SUCCESS)
	equal(t, "results", last.GetResults(), map[string]interface{}{
		"transform": map[string]interface{}{"count": 3.0, "total": 49.75}, "load": nil})

	// A finished run answers at once.
	again, err := windsock.WaitForDagRun(ctx, client, xcomChainDag, run.GetDagRunId(), windsock.WaitOptions{})
	must(t, "wait for a finished run", err)
	equal(t, "state", again.GetState(), windsock.DAGRUNSTATE_SUCCESS)

	// What the server refuses comes as the generated methods' errors.
	_, err = windsock.WaitForDagRun(ctx, client, xcomChainDag, "no_such_run", windsock.WaitOptions{})
	var apiErr *windsock.GenericOpenAPIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("waiting for an unknown run: %v", err)
	}
	if model, ok := apiErr.Model().(windsock.Error); !ok || model.GetStatus() != http.StatusNotFound {
		t.Errorf("waiting for an unknown run: %v (%s)", err, apiErr.Body())
	}

	// A run of a paused DAG stays queued: the wait gives up after its timeout.
	paused := unique("go_wait_paused")
	create.SetDagRunId(paused)
	_, _, err = client.DAGRunAPI.PostDagRun(ctx, "example_shell").DAGRunCreate(*create).Execute()
	must(t, "trigger example_shell", err)
	t.Cleanup(func() {
		_, _ = client.DAGRunAPI.DeleteDagRun(context.WithoutCancel(ctx), "example_shell", paused).Execute()
	})
	started := time.Now()
	last, err = windsock.WaitForDagRun(ctx, client, "example_shell", paused, windsock.WaitOptions{Timeout: time.Second})
	if !errors.Is(err, windsock.ErrWaitTimedOut) || last.GetState() != windsock.DAGRUNSTATE_QUEUED {
		t.Errorf("waiting for a queued run for 1 s: %v, %v", last, err)
	}
	if took := time.Since(started); took < time.Second || took > 5*time.Second {
		t.Errorf("a wait of 1 s took %s", took)
	}
}

func TestCursorPagesAndIdempotentTriggers(t *testing.T) {
	client, ctx := server(t)
	const dag = "example_shell" // paused: its runs stay queued
	prefix := unique("go_cursor")
	var want []string
	for i := range 5 {
		runID := prefix + "_" + string(rune('a'+i))
		key := runID + "_key"
		create := windsock.NewDAGRunCreate()
		create.SetDagRunId(runID)
		first, resp, err := client.DAGRunAPI.PostDagRun(ctx, dag).IdempotencyKey(key).DAGRunCreate(*create).Execute()
		must(t, "trigger "+runID, err)
		equal(t, "status of a first create", resp.StatusCode, http.StatusCreated)
		t.Cleanup(func() { _, _ = client.DAGRunAPI.DeleteDagRun(context.WithoutCancel(ctx), dag, runID).Execute() })
		// A retry with the key gets the stored answer, not a 409 for the run it created.
		again, resp, err := client.DAGRunAPI.PostDagRun(ctx, dag).IdempotencyKey(key).DAGRunCreate(*create).Execute()
		must(t, "retry "+runID, err)
		equal(t, "status of a retry", resp.StatusCode, http.StatusCreated)
		equal(t, "retried run", again.GetLogicalDate(), first.GetLogicalDate())
		want = append(want, runID)
	}
	// The key with another request is refused.
	other := windsock.NewDAGRunCreate()
	other.SetDagRunId(prefix + "_other")
	_, resp, err := client.DAGRunAPI.PostDagRun(ctx, dag).IdempotencyKey(want[0] + "_key").DAGRunCreate(*other).Execute()
	problem(t, err, resp, http.StatusUnprocessableEntity)

	// An empty cursor asks for cursor pages; All follows next_cursor to the last one.
	request := client.DAGRunAPI.GetDagRuns(ctx, dag).Cursor("").Limit(2)
	first, _, err := request.Execute()
	must(t, "first cursor page", err)
	if first.GetNextCursor() == "" || len(first.GetDagRuns()) != 2 {
		t.Fatalf("first cursor page: %d runs, next cursor %q", len(first.GetDagRuns()), first.GetNextCursor())
	}
	got := withPrefix(sortedNames(t, "list the runs by cursor", windsock.All(request, (*windsock.DAGRunCollection).GetDagRuns),
		func(run windsock.DAGRun) string { return run.GetDagRunId() }), prefix)
	equal(t, "runs of every cursor page", got, want)
}

// sortedNames returns the names (by name) of the items of seq, sorted.
func sortedNames[T any](t *testing.T, what string, seq iter.Seq2[T, error], name func(T) string) []string {
	t.Helper()
	var names []string
	for item, err := range seq {
		must(t, what, err)
		names = append(names, name(item))
	}
	slices.Sort(names)
	return names
}
