// End-to-end tests of the DAG domain through the generated Go SDK against a running server
// whose database holds a parsed DAGs folder: one good DAG file and one that fails to import.
//
// Hand-written (protected from regeneration by .openapi-generator-ignore) and limited to the
// standard library. Besides the variables windsock_e2e_test.go reads, the DAGs are named by:
//
//	WINDSOCK_TEST_DAG_ID           id of the good DAG (schedule none; tasks chained; one integer
//	                               param with a minimum of 1)
//	WINDSOCK_TEST_DAG_TAG          a tag that DAG carries and no other DAG does
//	WINDSOCK_TEST_DAG_PARAM        the name of that integer param
//	WINDSOCK_TEST_DAG_FILE         absolute path of the file that defines the DAG
//	WINDSOCK_TEST_BROKEN_DAG_FILE  absolute path of a DAG file with a syntax error
//
// tests/e2e/test_go_sdk.py parses such a folder (`windsock dags reserialize`) and sets them.
package windsock_test

import (
	"context"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"

	windsock "github.com/windsock/windsock-go"
)

// dagFixture is what the environment says about the parsed DAGs folder.
type dagFixture struct {
	dagID, tag, param, file, brokenFile string
}

// dags returns the DAGs folder the server under test has parsed; it skips (fails under CI)
// when the environment does not name one.
func dags(t *testing.T) dagFixture {
	t.Helper()
	f := dagFixture{
		dagID:      os.Getenv("WINDSOCK_TEST_DAG_ID"),
		tag:        os.Getenv("WINDSOCK_TEST_DAG_TAG"),
		param:      os.Getenv("WINDSOCK_TEST_DAG_PARAM"),
		file:       os.Getenv("WINDSOCK_TEST_DAG_FILE"),
		brokenFile: os.Getenv("WINDSOCK_TEST_BROKEN_DAG_FILE"),
	}
	if f.dagID == "" || f.tag == "" || f.param == "" || f.file == "" || f.brokenFile == "" {
		msg := "WINDSOCK_TEST_DAG_ID, _DAG_TAG, _DAG_PARAM, _DAG_FILE and _BROKEN_DAG_FILE must all be set"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; under CI the end-to-end tests must run")
		}
		t.Skip(msg + "; skipping the DAG end-to-end tests (run tests/e2e/test_go_sdk.py)")
	}
	return f
}

// taskStates maps each task instance of the run to its state ("" for none yet) and checks that
// none has started.
func taskStates(t *testing.T, client *windsock.APIClient, ctx context.Context, dagID, runID string) map[string]string {
	t.Helper()
	page, _, err := client.TaskInstanceAPI.GetTaskInstances(ctx, dagID, runID).Execute()
	must(t, "list task instances", err)
	equal(t, "task instances total_entries", int(page.GetTotalEntries()), len(page.GetTaskInstances()))
	states := map[string]string{}
	for _, ti := range page.GetTaskInstances() {
		equal(t, "task instance dag_run_id", ti.GetDagRunId(), runID)
		equal(t, "task instance try_number of "+ti.GetTaskId(), ti.GetTryNumber(), int32(0))
		state := ""
		if s := ti.State.Get(); s != nil {
			state = string(*s)
		}
		states[ti.GetTaskId()] = state
	}
	return states
}

func TestDags(t *testing.T) {
	client, ctx := server(t)
	f := dags(t)
	api := client.DAGAPI

	// list, filtered by tag
	listed, _, err := api.GetDags(ctx).Tags([]string{f.tag}).Execute()
	must(t, "list DAGs by tag", err)
	if listed.GetTotalEntries() != 1 || len(listed.GetDags()) != 1 {
		t.Fatalf("DAGs tagged %q: total %d, %d listed; want exactly one", f.tag,
			listed.GetTotalEntries(), len(listed.GetDags()))
	}
	dag := listed.GetDags()[0]
	equal(t, "dag_id", dag.GetDagId(), f.dagID)
	equal(t, "fileloc", dag.GetFileloc(), f.file)
	equal(t, "has_import_errors", dag.GetHasImportErrors(), false)
	var tags []string
	for _, tag := range dag.GetTags() {
		tags = append(tags, tag.GetName())
	}
	if !sort.StringsAreSorted(tags) || len(withPrefix(tags, f.tag)) == 0 {
		t.Errorf("tags = %v, want them sorted and to include %q", tags, f.tag)
	}
	none, _, err := api.GetDags(ctx).Tags([]string{unique("no_such_tag")}).Execute()
	must(t, "list DAGs by an unknown tag", err)
	equal(t, "DAGs with an unknown tag", none.GetTotalEntries(), int32(0))

	// one DAG and its tasks
	got, _, err := api.GetDag(ctx, f.dagID).Execute()
	must(t, "get DAG", err)
	equal(t, "file_token", got.GetFileToken(), dag.GetFileToken())
	tasks, _, err := api.GetTasks(ctx, f.dagID).Execute()
	must(t, "get tasks", err)
	var taskIDs []string
	for _, task := range tasks.GetTasks() {
		taskIDs = append(taskIDs, task.GetTaskId())
	}
	sort.Strings(taskIDs)
	if len(taskIDs) < 2 {
		t.Fatalf("the DAG has tasks %v, want several", taskIDs)
	}

	// the DAG file's source, as JSON
	source, _, err := api.GetDagSource(ctx, dag.GetFileToken()).Execute()
	must(t, "get DAG source", err)
	want, err := os.ReadFile(f.file)
	must(t, "read the DAG file", err)
	equal(t, "DAG source", source.GetContent(), string(want))
}

func TestTriggerAndClearDryRun(t *testing.T) {
	client, ctx := server(t)
	f := dags(t)
	runID := unique("go_run")
	t.Cleanup(func() {
		_, _ = client.DAGRunAPI.DeleteDagRun(context.WithoutCancel(ctx), f.dagID, runID).Execute()
	})

	// a conf that breaks the param's minimum is a 422 problem naming the param
	bad := windsock.NewDAGRunCreate()
	bad.SetDagRunId(runID)
	bad.SetConf(map[string]interface{}{f.param: 0})
	_, resp, err := client.DAGRunAPI.PostDagRun(ctx, f.dagID).DAGRunCreate(*bad).Execute()
	model := problem(t, err, resp, http.StatusUnprocessableEntity)
	if !strings.Contains(model.GetDetail(), f.param) {
		t.Errorf("detail %q does not name the param %q", model.GetDetail(), f.param)
	}
	_, resp, err = client.DAGRunAPI.GetDagRun(ctx, f.dagID, runID).Execute()
	problem(t, err, resp, http.StatusNotFound)

	// trigger with conf
	create := windsock.NewDAGRunCreate()
	create.SetDagRunId(runID)
	create.SetConf(map[string]interface{}{f.param: 7})
	run, resp, err := client.DAGRunAPI.PostDagRun(ctx, f.dagID).DAGRunCreate(*create).Execute()
	must(t, "trigger a DAG run", err)
	equal(t, "trigger status", resp.StatusCode, http.StatusCreated)
	equal(t, "run dag_id", run.GetDagId(), f.dagID)
	equal(t, "run dag_run_id", run.GetDagRunId(), runID)
	equal(t, "run state", run.GetState(), windsock.DAGRUNSTATE_QUEUED)
	equal(t, "run conf", run.GetConf(), map[string]interface{}{f.param: float64(7)})
	equal(t, "run external_trigger", run.GetExternalTrigger(), true)

	// read it back
	fetched, _, err := client.DAGRunAPI.GetDagRun(ctx, f.dagID, runID).Execute()
	must(t, "get the DAG run", err)
	equal(t, "fetched conf", fetched.GetConf(), map[string]interface{}{f.param: float64(7)})
	equal(t, "fetched state", fetched.GetState(), windsock.DAGRUNSTATE_QUEUED)
	if !fetched.GetLogicalDate().Equal(run.GetLogicalDate()) {
		t.Errorf("fetched logical_date %v, want %v", fetched.GetLogicalDate(), run.GetLogicalDate())
	}

	// its task instances: one per task, none decided yet
	tasks, _, err := client.DAGAPI.GetTasks(ctx, f.dagID).Execute()
	must(t, "get tasks", err)
	before := taskStates(t, client, ctx, f.dagID, runID)
	equal(t, "task instances", len(before), len(tasks.GetTasks()))
	for _, task := range tasks.GetTasks() {
		state, ok := before[task.GetTaskId()]
		if !ok || state != "" {
			t.Errorf("task instance %s: present %v, state %q; want present with no state",
				task.GetTaskId(), ok, state)
		}
	}

	// clear the run's task instances, dry run: every one is listed and nothing changes
	form := windsock.NewClearTaskInstancesForm()
	form.SetDryRun(true)
	form.SetOnlyFailed(false)
	form.SetDagRunId(runID)
	refs, _, err := client.DAGAPI.PostClearTaskInstances(ctx, f.dagID).ClearTaskInstancesForm(*form).Execute()
	must(t, "clear task instances (dry run)", err)
	var cleared []string
	for _, ref := range refs.GetTaskInstances() {
		equal(t, "cleared dag_run_id", ref.GetDagRunId(), runID)
		cleared = append(cleared, ref.GetTaskId())
	}
	sort.Strings(cleared)
	var taskIDs []string
	for id := range before {
		taskIDs = append(taskIDs, id)
	}
	sort.Strings(taskIDs)
	equal(t, "task instances a dry-run clear lists", cleared, taskIDs)
	equal(t, "task instances after a dry-run clear", taskStates(t, client, ctx, f.dagID, runID), before)

	// clear the run itself, dry run: the oneOf answer is a task instance collection
	result, _, err := client.DAGRunAPI.ClearDagRun(ctx, f.dagID, runID).ClearDagRun(*windsock.NewClearDagRun()).Execute()
	must(t, "clear the DAG run (dry run)", err)
	if result.DAGRun != nil || result.TaskInstanceCollection == nil {
		t.Fatalf("a dry-run clear answered %#v, want a TaskInstanceCollection", result.GetActualInstance())
	}
	equal(t, "dry-run clear total_entries", int(result.TaskInstanceCollection.GetTotalEntries()), len(taskIDs))
	after, _, err := client.DAGRunAPI.GetDagRun(ctx, f.dagID, runID).Execute()
	must(t, "get the DAG run after the dry runs", err)
	equal(t, "state after the dry runs", after.GetState(), windsock.DAGRUNSTATE_QUEUED)
}

func TestImportErrors(t *testing.T) {
	client, ctx := server(t)
	f := dags(t)
	api := client.ImportErrorAPI

	page, _, err := api.GetImportErrors(ctx).Execute()
	must(t, "list import errors", err)
	var found *windsock.ImportError
	for _, e := range page.GetImportErrors() {
		if e.GetFilename() == f.brokenFile {
			e := e
			found = &e
		}
		if e.GetFilename() == f.file {
			t.Errorf("the good DAG file %s has an import error:\n%s", f.file, e.GetStackTrace())
		}
	}
	if found == nil {
		t.Fatalf("no import error for %s among %d", f.brokenFile, page.GetTotalEntries())
	}

	got, _, err := api.GetImportError(ctx, found.GetImportErrorId()).Execute()
	must(t, "get the import error", err)
	equal(t, "import error filename", got.GetFilename(), f.brokenFile)
	equal(t, "import error stack_trace", got.GetStackTrace(), found.GetStackTrace())
	if !strings.Contains(got.GetStackTrace(), "SyntaxError") {
		t.Errorf("stack_trace does not mention SyntaxError:\n%s", got.GetStackTrace())
	}
}
