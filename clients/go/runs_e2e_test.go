// End-to-end test of a DAG run that a running scheduler executes: trigger the shipped example
// DAG example_xcom_chain through the Go SDK, wait until the run succeeds, and read back each
// task's log and the XComs the tasks handed to each other.
//
// Hand-written (protected from regeneration by .openapi-generator-ignore) and limited to the
// standard library. Besides the variables windsock_e2e_test.go reads, it needs
//
//	WINDSOCK_TEST_SCHEDULER  set (to anything) when a `windsock scheduler` runs against the
//	                         server's database and the example DAGs are parsed into it
//
// tests/e2e/test_go_sdk.py starts such a scheduler and sets it.
package windsock_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	windsock "github.com/windsock/windsock-go"
)

const (
	xcomChainDag = "example_xcom_chain"
	runTimeout   = 90 * time.Second
)

// withScheduler skips (fails under CI) unless a scheduler runs the server's DAGs, and returns a
// context with the credentials of ctx and room for a whole run.
func withScheduler(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	if os.Getenv("WINDSOCK_TEST_SCHEDULER") == "" {
		msg := "WINDSOCK_TEST_SCHEDULER is not set"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; under CI the end-to-end tests must run")
		}
		t.Skip(msg + "; skipping the DAG run end-to-end tests (run tests/e2e/test_go_sdk.py)")
	}
	long, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
	t.Cleanup(cancel)
	return long
}

// describeRun lists the states of a run's task instances, for failure messages.
func describeRun(client *windsock.APIClient, ctx context.Context, dagID, runID string) string {
	page, _, err := client.TaskInstanceAPI.GetTaskInstances(ctx, dagID, runID).Execute()
	if err != nil {
		return fmt.Sprintf("(task instances: %v)", err)
	}
	var parts []string
	for _, ti := range page.GetTaskInstances() {
		state := "none"
		if s := ti.State.Get(); s != nil {
			state = string(*s)
		}
		parts = append(parts, fmt.Sprintf("%s=%s (try %d)", ti.GetTaskId(), state, ti.GetTryNumber()))
	}
	return strings.Join(parts, ", ")
}

// waitRun polls the run until it has finished and returns it.
func waitRun(t *testing.T, client *windsock.APIClient, ctx context.Context, dagID, runID string) *windsock.DAGRun {
	t.Helper()
	deadline := time.Now().Add(runTimeout)
	for {
		run, _, err := client.DAGRunAPI.GetDagRun(ctx, dagID, runID).Execute()
		must(t, "get the DAG run", err)
		if state := run.GetState(); state == windsock.DAGRUNSTATE_SUCCESS || state == windsock.DAGRUNSTATE_FAILED {
			return run
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s/%s is still %s after %s: %s", dagID, runID, run.GetState(), runTimeout,
				describeRun(client, ctx, dagID, runID))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// plainLog reads the whole log of a try as text/plain, with the standard library.
func plainLog(t *testing.T, ctx context.Context, dagID, runID, taskID string, try int) string {
	t.Helper()
	base := strings.TrimRight(os.Getenv("WINDSOCK_TEST_URL"), "/")
	url := fmt.Sprintf("%s/api/v1/dags/%s/dagRuns/%s/taskInstances/%s/logs/%d?full_content=true",
		base, dagID, runID, taskID, try)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	must(t, "build the log request", err)
	auth := ctx.Value(windsock.ContextBasicAuth).(windsock.BasicAuth)
	req.SetBasicAuth(auth.UserName, auth.Password)
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	must(t, "read the log as text/plain", err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must(t, "read the log body", err)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET %s: %d %s\n%s", url, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	return string(body)
}

func TestRunExampleXComChain(t *testing.T) {
	client, shortCtx := server(t)
	ctx := withScheduler(t, shortCtx)
	runID := unique("go_xcom_chain")

	// unpause (and pause again at the end, so no more scheduled runs are made)
	patch := windsock.NewDAGPatch(false)
	_, _, err := client.DAGAPI.PatchDag(ctx, xcomChainDag).DAGPatch(*patch).UpdateMask([]string{"is_paused"}).Execute()
	must(t, "unpause "+xcomChainDag, err)
	t.Cleanup(func() {
		_, _, _ = client.DAGAPI.PatchDag(context.WithoutCancel(ctx), xcomChainDag).
			DAGPatch(*windsock.NewDAGPatch(true)).UpdateMask([]string{"is_paused"}).Execute()
	})

	// trigger and wait
	create := windsock.NewDAGRunCreate()
	create.SetDagRunId(runID)
	run, resp, err := client.DAGRunAPI.PostDagRun(ctx, xcomChainDag).DAGRunCreate(*create).Execute()
	must(t, "trigger "+xcomChainDag, err)
	equal(t, "trigger status", resp.StatusCode, http.StatusCreated)
	equal(t, "state when triggered", run.GetState(), windsock.DAGRUNSTATE_QUEUED)
	run = waitRun(t, client, ctx, xcomChainDag, runID)
	if run.GetState() != windsock.DAGRUNSTATE_SUCCESS {
		t.Fatalf("run %s ended %s: %s", runID, run.GetState(), describeRun(client, ctx, xcomChainDag, runID))
	}
	if !run.GetStartDate().Before(run.GetEndDate()) {
		t.Errorf("run start_date %v is not before its end_date %v", run.GetStartDate(), run.GetEndDate())
	}

	// each task ran once, in order
	page, _, err := client.TaskInstanceAPI.GetTaskInstances(ctx, xcomChainDag, runID).Execute()
	must(t, "list task instances", err)
	tis := map[string]windsock.TaskInstance{}
	for _, ti := range page.GetTaskInstances() {
		tis[ti.GetTaskId()] = ti
	}
	chain := []string{"extract", "transform", "load"}
	equal(t, "task instances", len(tis), len(chain))
	for i, taskID := range chain {
		ti, ok := tis[taskID]
		if !ok {
			t.Fatalf("no task instance %s among %v", taskID, tis)
		}
		equal(t, taskID+" state", ti.GetState(), windsock.TASKINSTANCESTATE_SUCCESS)
		equal(t, taskID+" try_number", ti.GetTryNumber(), int32(1))
		if ti.GetHostname() == "" || ti.GetPid() == 0 {
			t.Errorf("%s: hostname %q, pid %d; want both set", taskID, ti.GetHostname(), ti.GetPid())
		}
		if i > 0 {
			upstream := tis[chain[i-1]]
			if ti.GetStartDate().Before(upstream.GetEndDate()) {
				t.Errorf("%s started at %v, before %s ended at %v", taskID, ti.GetStartDate(),
					chain[i-1], upstream.GetEndDate())
			}
		}
	}

	// each task's log, as JSON through the SDK and as text/plain
	logs := map[string]string{}
	for _, taskID := range chain {
		log, _, err := client.TaskInstanceAPI.GetLog(ctx, xcomChainDag, runID, taskID, 1).FullContent(true).Execute()
		must(t, "get the log of "+taskID, err)
		// a full log's token reads on from its end: nothing more for a finished try
		rest, _, err := client.TaskInstanceAPI.GetLog(ctx, xcomChainDag, runID, taskID, 1).Token(log.GetContinuationToken()).Execute()
		must(t, "read on from the end of the log of "+taskID, err)
		equal(t, taskID+" log after its end", rest.GetContent(), "")
		content := log.GetContent()
		ti := tis[taskID]
		if !strings.Contains(content, ti.GetHostname()) {
			t.Errorf("the log of %s does not name the host %q:\n%s", taskID, ti.GetHostname(), content)
		}
		equal(t, taskID+" log as text/plain", plainLog(t, ctx, xcomChainDag, runID, taskID, 1), content)
		logs[taskID] = content
	}

	// the XComs: extract's return value is what transform summarized, and load printed that
	extract, _, err := client.XComAPI.GetXcomEntry(ctx, xcomChainDag, runID, "extract", "return_value").Stringify(false).Execute()
	must(t, "get the XCom of extract", err)
	orders, ok := extract.GetValue().([]interface{})
	if !ok || len(orders) == 0 {
		t.Fatalf("extract returned %#v, want a list of orders", extract.GetValue())
	}
	total := 0.0
	for _, order := range orders {
		total += order.(map[string]interface{})["amount"].(float64)
	}
	transform, _, err := client.XComAPI.GetXcomEntry(ctx, xcomChainDag, runID, "transform", "return_value").Stringify(false).Execute()
	must(t, "get the XCom of transform", err)
	equal(t, "transform's return value", transform.GetValue(),
		interface{}(map[string]interface{}{"count": float64(len(orders)), "total": total}))
	want := fmt.Sprintf("%d orders, %.2f in total", len(orders), total)
	if !strings.Contains(logs["load"], want) {
		t.Errorf("the log of load does not say %q:\n%s", want, logs["load"])
	}
}
