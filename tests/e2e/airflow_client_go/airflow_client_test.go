// The published Airflow Go client (github.com/apache/airflow-client-go, client 2.5.0), used as
// its users use it, against a live Windsock server: every operation the client has and Windsock
// implements is called, and every answer must decode into the client's own models.
//
// The server and a DAG run it has finished are named by the environment:
//
//	AIRFLOW_CLIENT_TEST_URL        base URL of the server (http://host:port, without /api/v1);
//	                               [api] expose_config and enable_connection_test must be on
//	AIRFLOW_CLIENT_TEST_USERNAME   an Admin user and its password
//	AIRFLOW_CLIENT_TEST_PASSWORD
//	AIRFLOW_CLIENT_TEST_DAG_ID     a DAG whose tasks return values (XComs), and a run of it that
//	AIRFLOW_CLIENT_TEST_RUN_ID     succeeded, each task on its first try
//	AIRFLOW_CLIENT_TEST_SPARE_DAG_ID  a DAG the test deletes (it must have a DAG warning)
//	AIRFLOW_CLIENT_TEST_TRACE      optional: a file to write one line per request to, "METHOD
//	                               path status", for the caller to check which operations ran
//
// The server must also hold an import error.
// tests/e2e/test_airflow_client_go.py prepares all of that with a real scheduler and runs this.
package airflowclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/airflow-client-go/airflow"
)

// --- tracing: which requests the client sent, and the status of each answer ---

var trace struct {
	sync.Mutex
	lines []string
}

type tracer struct{ next http.RoundTripper }

func (tr tracer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := tr.next.RoundTrip(req)
	if err == nil { // the path as sent, with a dataset URI's slashes escaped
		trace.Lock()
		trace.lines = append(trace.lines, fmt.Sprintf("%s %s %d", req.Method, req.URL.EscapedPath(), resp.StatusCode))
		trace.Unlock()
	}
	return resp, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if path := os.Getenv("AIRFLOW_CLIENT_TEST_TRACE"); path != "" {
		text := strings.Join(trace.lines, "\n") + "\n"
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "writing the trace:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// --- the server under test ---

type target struct {
	api          *airflow.APIClient
	ctx          context.Context
	host         string
	port         int32
	dagID, runID string
	spareDagID   string
}

func server(t *testing.T) target {
	t.Helper()
	base := os.Getenv("AIRFLOW_CLIENT_TEST_URL")
	tg := target{dagID: os.Getenv("AIRFLOW_CLIENT_TEST_DAG_ID"), runID: os.Getenv("AIRFLOW_CLIENT_TEST_RUN_ID"),
		spareDagID: os.Getenv("AIRFLOW_CLIENT_TEST_SPARE_DAG_ID")}
	if base == "" || tg.dagID == "" || tg.runID == "" || tg.spareDagID == "" {
		msg := "AIRFLOW_CLIENT_TEST_URL, _DAG_ID, _RUN_ID and _SPARE_DAG_ID must be set"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; under CI this test must run")
		}
		t.Skip(msg + "; skipping (run tests/e2e/test_airflow_client_go.py)")
	}
	parsed, err := url.Parse(base)
	must(t, "parse AIRFLOW_CLIENT_TEST_URL", err)
	port, err := strconv.Atoi(parsed.Port())
	must(t, "port of AIRFLOW_CLIENT_TEST_URL", err)
	tg.host, tg.port = parsed.Hostname(), int32(port)

	cfg := airflow.NewConfiguration()
	cfg.Servers = airflow.ServerConfigurations{{URL: strings.TrimRight(base, "/") + "/api/v1"}}
	cfg.HTTPClient = &http.Client{Transport: tracer{http.DefaultTransport}}
	tg.api = airflow.NewAPIClient(cfg)
	tg.ctx = context.WithValue(context.Background(), airflow.ContextBasicAuth, airflow.BasicAuth{
		UserName: os.Getenv("AIRFLOW_CLIENT_TEST_USERNAME"),
		Password: os.Getenv("AIRFLOW_CLIENT_TEST_PASSWORD"),
	})
	return tg
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// answer is what a call returned: ok(call.Execute()).get(t, "what") fails the test when the
// call failed or its answer did not decode into the client's model (the client reports both as
// an error, with the body it got), and returns the decoded answer.
type answer[T any] struct {
	value T
	resp  *http.Response
	err   error
}

func ok[T any](value T, resp *http.Response, err error) answer[T] {
	return answer[T]{value, resp, err}
}

// done is ok for the operations that answer no body.
func done(resp *http.Response, err error) answer[struct{}] {
	return answer[struct{}]{struct{}{}, resp, err}
}

func (a answer[T]) get(t *testing.T, what string) T {
	t.Helper()
	if a.err != nil {
		var apiErr airflow.GenericOpenAPIError
		if errors.As(a.err, &apiErr) {
			t.Fatalf("%s: %v\n%s", what, a.err, apiErr.Body())
		}
		t.Fatalf("%s: %v", what, a.err)
	}
	if a.resp.StatusCode >= 300 {
		t.Fatalf("%s: answered %s", what, a.resp.Status)
	}
	return a.value
}

// fails checks that the call was answered `status` with a problem, which it returns decoded
// into the client's Error model. The client leaves application/problem+json bodies (Airflow's
// errors too) undecoded, so users decode them from the error's body, as here.
func (a answer[T]) fails(t *testing.T, what string, status int) airflow.Error {
	t.Helper()
	var apiErr airflow.GenericOpenAPIError
	if !errors.As(a.err, &apiErr) {
		t.Fatalf("%s: want an answer %d, got error %v", what, status, a.err)
	}
	equal(t, what+": status", a.resp.StatusCode, status)
	var problem airflow.Error
	must(t, what+": decode the problem", json.Unmarshal(apiErr.Body(), &problem))
	equal(t, what+": problem status", int(problem.GetStatus()), status)
	require(t, what+": problem detail", problem.GetDetail() != "")
	return problem
}

func equal[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func require(t *testing.T, what string, holds bool) {
	t.Helper()
	if !holds {
		t.Fatal(what)
	}
}

// --- the operations, grouped as the client groups them ---

func TestMonitoringAndConfig(t *testing.T) {
	s := server(t)
	health := ok(s.api.MonitoringApi.GetHealth(s.ctx).Execute()).get(t, "GetHealth")
	equal(t, "metadatabase status", health.Metadatabase.GetStatus(), airflow.HEALTHSTATUS_HEALTHY)
	equal(t, "scheduler status", health.Scheduler.GetStatus(), airflow.HEALTHSTATUS_HEALTHY)
	version := ok(s.api.MonitoringApi.GetVersion(s.ctx).Execute()).get(t, "GetVersion")
	require(t, "a version", version.GetVersion() != "")
	config := ok(s.api.ConfigApi.GetConfig(s.ctx).Execute()).get(t, "GetConfig")
	require(t, "config sections", len(config.GetSections()) > 0)
}

func TestVariables(t *testing.T) {
	s := server(t)
	api := s.api.VariableApi
	key := "airflow_go_client"
	variable := airflow.NewVariable()
	variable.SetKey(key)
	variable.SetValue("first")
	variable.SetDescription("Written by the Airflow Go client.")
	created := ok(api.PostVariables(s.ctx).Variable(*variable).Execute()).get(t, "PostVariables")
	equal(t, "created value", created.GetValue(), "first")

	read := ok(api.GetVariable(s.ctx, key).Execute()).get(t, "GetVariable")
	equal(t, "read value", read.GetValue(), "first")
	page := ok(api.GetVariables(s.ctx).OrderBy("key").Limit(10).Execute()).get(t, "GetVariables")
	equal(t, "listed variables", page.GetTotalEntries(), int32(1))
	equal(t, "listed key", page.GetVariables()[0].GetKey(), key)

	// POST of a key that exists sets its value, as in Airflow 2 (200 rather than 201).
	variable.SetValue("second")
	posted := ok(api.PostVariables(s.ctx).Variable(*variable).Execute())
	replaced := posted.get(t, "PostVariables over an existing key")
	equal(t, "replaced value", replaced.GetValue(), "second")
	equal(t, "PostVariables status over an existing key", posted.resp.StatusCode, http.StatusOK)

	variable.SetValue("third")
	patched := ok(api.PatchVariable(s.ctx, key).Variable(*variable).UpdateMask([]string{"value"}).Execute()).get(t, "PatchVariable")
	equal(t, "patched value", patched.GetValue(), "third")
	done(api.DeleteVariable(s.ctx, key).Execute()).get(t, "DeleteVariable")
}

func TestConnections(t *testing.T) {
	s := server(t)
	api := s.api.ConnectionApi
	id := "airflow_go_client"
	conn := airflow.NewConnection()
	conn.SetConnectionId(id)
	conn.SetConnType("http")
	conn.SetHost(s.host)
	conn.SetPort(s.port)
	conn.SetLogin("go")
	conn.SetPassword("not-a-real-secret")
	conn.SetExtra(`{"timeout": 5}`)
	created := ok(api.PostConnection(s.ctx).Connection(*conn).Execute()).get(t, "PostConnection")
	equal(t, "created connection's host", created.GetHost(), s.host)
	require(t, "no password in the answer", !created.HasPassword())

	read := ok(api.GetConnection(s.ctx, id).Execute()).get(t, "GetConnection")
	equal(t, "read port", read.GetPort(), s.port)
	page := ok(api.GetConnections(s.ctx).OrderBy("connection_id").Execute()).get(t, "GetConnections")
	equal(t, "listed connection", page.GetConnections()[0].GetConnectionId(), id)

	conn.SetDescription("Patched by the Airflow Go client.")
	patched := ok(api.PatchConnection(s.ctx, id).Connection(*conn).UpdateMask([]string{"description"}).Execute()).get(t, "PatchConnection")
	equal(t, "patched description", patched.GetDescription(), "Patched by the Airflow Go client.")

	// The connection points at the server itself, so the test reaches it.
	tested := ok(api.TestConnection(s.ctx).Connection(*conn).Execute()).get(t, "TestConnection")
	require(t, "connection test succeeds: "+tested.GetMessage(), tested.GetStatus())
	done(api.DeleteConnection(s.ctx, id).Execute()).get(t, "DeleteConnection")
}

func TestPools(t *testing.T) {
	s := server(t)
	api := s.api.PoolApi
	name := "airflow_go_client"
	pool := airflow.NewPool()
	pool.SetName(name)
	pool.SetSlots(2)
	pool.SetDescription("Written by the Airflow Go client.")
	created := ok(api.PostPool(s.ctx).Pool(*pool).Execute()).get(t, "PostPool")
	equal(t, "created open slots", created.GetOpenSlots(), int32(2))
	read := ok(api.GetPool(s.ctx, name).Execute()).get(t, "GetPool")
	equal(t, "read slots", read.GetSlots(), int32(2))
	page := ok(api.GetPools(s.ctx).OrderBy("name").Execute()).get(t, "GetPools")
	equal(t, "listed pools", int(page.GetTotalEntries()), len(page.GetPools()))

	pool.SetSlots(3)
	patched := ok(api.PatchPool(s.ctx, name).Pool(*pool).UpdateMask([]string{"slots"}).Execute()).get(t, "PatchPool")
	equal(t, "patched slots", patched.GetSlots(), int32(3))
	done(api.DeletePool(s.ctx, name).Execute()).get(t, "DeletePool")
}

func permission(action, resource string) airflow.ActionResource {
	pair := airflow.NewActionResource()
	pair.SetAction(airflow.Action{Name: &action})
	pair.SetResource(airflow.Resource{Name: &resource})
	return *pair
}

func TestRolesAndUsers(t *testing.T) {
	s := server(t)
	actions := ok(s.api.PermissionApi.GetPermissions(s.ctx).Execute()).get(t, "GetPermissions")
	require(t, "actions listed", len(actions.GetActions()) > 0)

	roles := s.api.RoleApi
	roleName := "airflow_go_client"
	role := airflow.NewRole()
	role.SetName(roleName)
	role.SetActions([]airflow.ActionResource{permission("can_read", "Variables")})
	created := ok(roles.PostRole(s.ctx).Role(*role).Execute()).get(t, "PostRole")
	equal(t, "created role's permissions", len(created.GetActions()), 1)
	read := ok(roles.GetRole(s.ctx, roleName).Execute()).get(t, "GetRole")
	equal(t, "read role", read.GetName(), roleName)
	listed := ok(roles.GetRoles(s.ctx).OrderBy("name").Execute()).get(t, "GetRoles")
	equal(t, "listed roles", int(listed.GetTotalEntries()), len(listed.GetRoles()))
	role.SetActions(append(role.GetActions(), permission("can_read", "Pools")))
	patchedRole := ok(roles.PatchRole(s.ctx, roleName).Role(*role).UpdateMask([]string{"actions"}).Execute()).get(t, "PatchRole")
	equal(t, "patched role's permissions", len(patchedRole.GetActions()), 2)

	users := s.api.UserApi
	username := "airflow_go_client"
	user := airflow.NewUser()
	user.SetUsername(username)
	user.SetEmail("go-client@example.com")
	user.SetFirstName("Go")
	user.SetLastName("Client")
	user.SetPassword("a-long-enough-password-for-go")
	user.SetRoles([]airflow.UserCollectionItemRoles{{Name: &roleName}})
	createdUser := ok(users.PostUser(s.ctx).User(*user).Execute()).get(t, "PostUser")
	equal(t, "created user's role", createdUser.GetRoles()[0].GetName(), roleName)
	readUser := ok(users.GetUser(s.ctx, username).Execute()).get(t, "GetUser")
	equal(t, "read user's email", readUser.GetEmail(), "go-client@example.com")
	page := ok(users.GetUsers(s.ctx).OrderBy("username").Execute()).get(t, "GetUsers")
	equal(t, "listed users", int(page.GetTotalEntries()), len(page.GetUsers()))
	user.SetLastName("Patched")
	// Airflow's contract (and with it this client) says PATCH /users answers a Role.
	ok(users.PatchUser(s.ctx, username).User(*user).UpdateMask([]string{"last_name"}).Execute()).get(t, "PatchUser")
	patchedUser := ok(users.GetUser(s.ctx, username).Execute()).get(t, "GetUser")
	equal(t, "patched last name", patchedUser.GetLastName(), "Patched")

	done(users.DeleteUser(s.ctx, username).Execute()).get(t, "DeleteUser")
	done(roles.DeleteRole(s.ctx, roleName).Execute()).get(t, "DeleteRole")
}

func paused(value bool) airflow.DAG {
	dag := airflow.NewDAG()
	dag.SetIsPaused(value)
	return *dag
}

func TestDags(t *testing.T) {
	s := server(t)
	api := s.api.DAGApi
	// Every DAG (cron and no schedule, several trigger rules), in each form the client reads.
	listed := ok(api.GetDags(s.ctx).Execute()).get(t, "GetDags")
	found := false
	for _, dag := range listed.GetDags() {
		id := dag.GetDagId()
		found = found || id == s.dagID
		read := ok(api.GetDag(s.ctx, id).Execute()).get(t, "GetDag "+id)
		details := ok(api.GetDagDetails(s.ctx, id).Execute()).get(t, "GetDagDetails "+id)
		equal(t, "file token of "+id, details.GetFileToken(), read.GetFileToken())
		source := ok(api.GetDagSource(s.ctx, read.GetFileToken()).Execute()).get(t, "GetDagSource "+id)
		require(t, "the source of "+id+" names it", strings.Contains(source.GetContent(), id))
		tasks := ok(api.GetTasks(s.ctx, id).OrderBy("task_id").Execute()).get(t, "GetTasks "+id)
		require(t, "tasks of "+id, len(tasks.GetTasks()) > 0)
		for _, task := range tasks.GetTasks() {
			ok(api.GetTask(s.ctx, id, task.GetTaskId()).Execute()).get(t, "GetTask "+id+"."+task.GetTaskId())
		}
	}
	require(t, "the run's DAG listed", found)
	// Array and boolean query parameters, as the client writes them.
	tagged := ok(api.GetDags(s.ctx).Tags([]string{"example", "xcom"}).OnlyActive(true).OrderBy("-dag_id").
		Limit(10).Offset(0).Execute()).get(t, "GetDags by tags")
	require(t, "the run's DAG by its tags", tagged.GetTotalEntries() >= 1)

	// Pausing keeps the scheduler from starting the run TestDagRuns triggers.
	patched := ok(api.PatchDag(s.ctx, s.dagID).DAG(paused(true)).UpdateMask([]string{"is_paused"}).Execute()).get(t, "PatchDag")
	equal(t, "paused", patched.GetIsPaused(), true)
	many := ok(api.PatchDags(s.ctx).DagIdPattern(s.dagID).DAG(paused(true)).UpdateMask([]string{"is_paused"}).Execute()).get(t, "PatchDags")
	equal(t, "DAGs paused by pattern", many.GetDags()[0].GetIsPaused(), true)

	warnings := ok(s.api.DagWarningApi.GetDagWarnings(s.ctx).DagId(s.spareDagID).WarningType("non-existent pool").
		Execute()).get(t, "GetDagWarnings")
	// The client's collection names its list import_errors (dag_warnings on the wire, in
	// Airflow's contract too), so only the count reaches its users.
	require(t, "a DAG warning", warnings.GetTotalEntries() > 0)
	done(api.DeleteDag(s.ctx, s.spareDagID).Execute()).get(t, "DeleteDag")

	errs := ok(s.api.ImportErrorApi.GetImportErrors(s.ctx).Execute()).get(t, "GetImportErrors")
	require(t, "an import error", len(errs.GetImportErrors()) > 0)
	id := errs.GetImportErrors()[0].GetImportErrorId()
	read := ok(s.api.ImportErrorApi.GetImportError(s.ctx, id).Execute()).get(t, "GetImportError")
	require(t, "the import error's stack trace", read.GetStackTrace() != "")
}

func TestDagRuns(t *testing.T) {
	s := server(t)
	api := s.api.DAGRunApi
	run := ok(api.GetDagRun(s.ctx, s.dagID, s.runID).Execute()).get(t, "GetDagRun")
	equal(t, "finished run's state", run.GetState(), airflow.DAGSTATE_SUCCESS)
	// Datetime filters as the client writes them (RFC 3339, here with an offset other than Z).
	zone := time.FixedZone("UTC+2", 2*3600)
	after, before := run.GetStartDate().Add(-time.Hour).In(zone), run.GetEndDate().Add(time.Hour).In(zone)
	page := ok(api.GetDagRuns(s.ctx, s.dagID).State([]string{"success", "failed"}).OrderBy("-execution_date").
		StartDateGte(after).StartDateLte(before).EndDateGte(after).EndDateLte(before).
		ExecutionDateLte(before).Limit(10).Execute()).get(t, "GetDagRuns")
	require(t, "the finished run listed by its dates", page.GetTotalEntries() >= 1)
	form := airflow.NewListDagRunsForm()
	form.SetDagIds([]string{s.dagID})
	batch := ok(api.GetDagRunsBatch(s.ctx).ListDagRunsForm(*form).Execute()).get(t, "GetDagRunsBatch")
	require(t, "runs listed by form", batch.GetTotalEntries() >= 1)

	note := airflow.NewSetDagRunNote()
	note.SetNote("Read by the Airflow Go client.")
	noted := ok(api.SetDagRunNote(s.ctx, s.dagID, s.runID).SetDagRunNote(*note).Execute()).get(t, "SetDagRunNote")
	equal(t, "run note", noted.GetNote(), "Read by the Airflow Go client.")
	// A dry run clears nothing; Airflow's contract (and with it this client) reads the answer
	// as a DAG run.
	ok(api.ClearDagRun(s.ctx, s.dagID, s.runID).ClearDagRun(*airflow.NewClearDagRun()).Execute()).get(t, "ClearDagRun")

	// A run of its own, triggered while the DAG is paused, marked failed, then deleted.
	ok(s.api.DAGApi.PatchDag(s.ctx, s.dagID).DAG(paused(true)).UpdateMask([]string{"is_paused"}).Execute()).get(t, "PatchDag")
	ownID := "airflow_go_client"
	trigger := airflow.NewDAGRun()
	trigger.SetDagRunId(ownID)
	triggered := ok(api.PostDagRun(s.ctx, s.dagID).DAGRun(*trigger).Execute()).get(t, "PostDagRun")
	equal(t, "triggered run's state", triggered.GetState(), airflow.DAGSTATE_QUEUED)
	state := airflow.NewUpdateDagRunState()
	state.SetState("failed")
	marked := ok(api.UpdateDagRunState(s.ctx, s.dagID, ownID).UpdateDagRunState(*state).Execute()).get(t, "UpdateDagRunState")
	equal(t, "marked run's state", marked.GetState(), airflow.DAGSTATE_FAILED)
	done(api.DeleteDagRun(s.ctx, s.dagID, ownID).Execute()).get(t, "DeleteDagRun")
}

func TestTaskInstances(t *testing.T) {
	s := server(t)
	api := s.api.TaskInstanceApi
	page := ok(api.GetTaskInstances(s.ctx, s.dagID, s.runID).State([]string{"success"}).Pool([]string{"default_pool"}).
		DurationGte(0).Limit(100).Execute()).get(t, "GetTaskInstances")
	require(t, "task instances listed", len(page.GetTaskInstances()) > 0)
	for _, listed := range page.GetTaskInstances() {
		ti := ok(api.GetTaskInstance(s.ctx, s.dagID, s.runID, listed.GetTaskId()).Execute()).get(t, "GetTaskInstance")
		equal(t, "state of "+ti.GetTaskId(), ti.GetState(), airflow.TASKSTATE_SUCCESS)
		equal(t, "try number of "+ti.GetTaskId(), ti.GetTryNumber(), int32(1))
		log := ok(api.GetLog(s.ctx, s.dagID, s.runID, ti.GetTaskId(), 1).FullContent(true).Execute()).get(t, "GetLog")
		require(t, "log of "+ti.GetTaskId(), log.GetContent() != "")
		// Read in pages: the first, then on from its continuation token (to the end, here).
		first := ok(api.GetLog(s.ctx, s.dagID, s.runID, ti.GetTaskId(), 1).Execute()).get(t, "GetLog page")
		next := ok(api.GetLog(s.ctx, s.dagID, s.runID, ti.GetTaskId(), 1).Token(first.GetContinuationToken()).
			Execute()).get(t, "GetLog from a token")
		equal(t, "log of "+ti.GetTaskId()+" in pages", first.GetContent()+next.GetContent(), log.GetContent())
	}
	form := airflow.NewListTaskInstanceForm()
	form.SetDagIds([]string{s.dagID})
	form.SetState([]airflow.TaskState{airflow.TASKSTATE_SUCCESS})
	batch := ok(api.GetTaskInstancesBatch(s.ctx).ListTaskInstanceForm(*form).Execute()).get(t, "GetTaskInstancesBatch")
	require(t, "task instances listed by form", batch.GetTotalEntries() >= page.GetTotalEntries())

	taskID := page.GetTaskInstances()[0].GetTaskId()
	noted := ok(s.api.DAGApi.SetTaskInstanceNote(s.ctx, s.dagID, s.runID, taskID).
		SetTaskInstanceNote(*airflow.NewSetTaskInstanceNote("Read by the Airflow Go client.")).Execute()).get(t, "SetTaskInstanceNote")
	equal(t, "task instance note", noted.GetNote(), "Read by the Airflow Go client.")

	// The state changes below are dry runs: they say what they would change, and change nothing.
	one := airflow.NewUpdateTaskInstance()
	one.SetDryRun(true)
	one.SetNewState("failed")
	ref := ok(api.PatchTaskInstance(s.ctx, s.dagID, s.runID, taskID).UpdateTaskInstance(*one).Execute()).get(t, "PatchTaskInstance")
	equal(t, "task instance that would change", ref.GetTaskId(), taskID)
	many := airflow.NewUpdateTaskInstancesState()
	many.SetTaskId(taskID)
	many.SetDagRunId(s.runID)
	many.SetNewState("failed")
	refs := ok(s.api.DAGApi.PostSetTaskInstancesState(s.ctx, s.dagID).UpdateTaskInstancesState(*many).Execute()).get(t, "PostSetTaskInstancesState")
	require(t, "task instances that would be set", len(refs.GetTaskInstances()) > 0)
	clear := airflow.NewClearTaskInstances()
	clear.SetOnlyFailed(false)
	clear.SetDagRunId(s.runID)
	cleared := ok(s.api.DAGApi.PostClearTaskInstances(s.ctx, s.dagID).ClearTaskInstances(*clear).Execute()).get(t, "PostClearTaskInstances")
	equal(t, "task instances that would be cleared", len(cleared.GetTaskInstances()), len(page.GetTaskInstances()))
	after := ok(api.GetTaskInstance(s.ctx, s.dagID, s.runID, taskID).Execute()).get(t, "GetTaskInstance")
	equal(t, "state after the dry runs", after.GetState(), airflow.TASKSTATE_SUCCESS)
}

func TestMappedTaskInstances(t *testing.T) {
	s := server(t)
	api := s.api.TaskInstanceApi
	dagID, runID := os.Getenv("AIRFLOW_CLIENT_TEST_MAPPED_DAG_ID"), os.Getenv("AIRFLOW_CLIENT_TEST_MAPPED_RUN_ID")
	require(t, "AIRFLOW_CLIENT_TEST_MAPPED_DAG_ID and _RUN_ID set", dagID != "" && runID != "")
	page := ok(api.GetMappedTaskInstances(s.ctx, dagID, runID, "load").State([]string{"success"}).
		OrderBy("-map_index").Limit(10).Execute()).get(t, "GetMappedTaskInstances")
	equal(t, "mapped instances listed", len(page.GetTaskInstances()), 3)
	equal(t, "the first listed has the highest map index", page.GetTaskInstances()[0].GetMapIndex(), int32(2))
	one := ok(api.GetMappedTaskInstance(s.ctx, dagID, runID, "load", 1).Execute()).get(t, "GetMappedTaskInstance")
	equal(t, "mapped instance's state", one.GetState(), airflow.TASKSTATE_SUCCESS)
	equal(t, "mapped instance's map index", one.GetMapIndex(), int32(1))
	noted := ok(s.api.DAGApi.SetMappedTaskInstanceNote(s.ctx, dagID, runID, "load", 1).
		SetTaskInstanceNote(*airflow.NewSetTaskInstanceNote("Mapped, read by Go.")).Execute()).get(t, "SetMappedTaskInstanceNote")
	equal(t, "mapped instance's note", noted.GetNote(), "Mapped, read by Go.")
	dry := airflow.NewUpdateTaskInstance()
	dry.SetDryRun(true)
	dry.SetNewState("failed")
	ref := ok(api.PatchMappedTaskInstance(s.ctx, dagID, runID, "load", 1).UpdateTaskInstance(*dry).Execute()).
		get(t, "PatchMappedTaskInstance")
	equal(t, "mapped instance that would change", ref.GetTaskId(), "load")
	after := ok(api.GetMappedTaskInstance(s.ctx, dagID, runID, "load", 1).Execute()).get(t, "GetMappedTaskInstance")
	equal(t, "state after the dry run", after.GetState(), airflow.TASKSTATE_SUCCESS)
}

func TestExtraLinksPluginsAndProviders(t *testing.T) {
	s := server(t)
	// The answer is Airflow's object of link name -> URL, which this client decodes into an
	// ExtraLinkCollection without fields; that it decodes at all is what is checked here.
	tis := ok(s.api.TaskInstanceApi.GetTaskInstances(s.ctx, s.dagID, s.runID).Execute()).
		get(t, "GetTaskInstances")
	require(t, "a task instance to read the links of", len(tis.GetTaskInstances()) > 0)
	taskID := tis.GetTaskInstances()[0].GetTaskId()
	ok(s.api.TaskInstanceApi.GetExtraLinks(s.ctx, s.dagID, s.runID, taskID).Execute()).
		get(t, "GetExtraLinks")
	// This client was generated from an older Airflow contract, in which the items of
	// global_operator_extra_links were objects; Airflow 2.10 (and Windsock) send strings, so the
	// client cannot decode a plugin with global links (the test provider's plugin has one). The
	// answer is read from the undecoded body it hands back instead.
	plugins, resp, err := s.api.PluginApi.GetPlugins(s.ctx).Limit(10).Offset(0).Execute()
	equal(t, "GetPlugins status", resp.StatusCode, http.StatusOK)
	if err != nil {
		var apiErr airflow.GenericOpenAPIError
		require(t, "GetPlugins: an undecodable answer, not "+err.Error(), errors.As(err, &apiErr))
		var raw struct {
			Plugins []struct {
				Name string `json:"name"`
			} `json:"plugins"`
			TotalEntries int `json:"total_entries"`
		}
		must(t, "decode the plugins", json.Unmarshal(apiErr.Body(), &raw))
		names := map[string]bool{}
		for _, plugin := range raw.Plugins {
			names[plugin.Name] = true
		}
		require(t, "the test provider's plugin listed", names["example_provider"])
		equal(t, "plugins counted", raw.TotalEntries, len(raw.Plugins))
	} else {
		equal(t, "plugins counted", int(plugins.GetTotalEntries()), len(plugins.GetPlugins()))
	}
	providers := ok(s.api.ProviderApi.GetProviders(s.ctx).Execute()).get(t, "GetProviders")
	names := map[string]bool{}
	for _, provider := range providers.GetProviders() {
		names[provider.GetPackageName()] = true
	}
	require(t, "Windsock's own provider listed", names["windsock"])
}

func TestDatasets(t *testing.T) {
	s := server(t)
	api := s.api.DatasetApi
	uri := os.Getenv("AIRFLOW_CLIENT_TEST_DATASET_URI")
	require(t, "AIRFLOW_CLIENT_TEST_DATASET_URI set", uri != "")
	page := ok(api.GetDatasets(s.ctx).UriPattern("e2e/").OrderBy("uri").Limit(10).Execute()).get(t, "GetDatasets")
	equal(t, "datasets listed", len(page.GetDatasets()), 1)
	// The client escapes the URI's slashes in the path.
	dataset := ok(api.GetDataset(s.ctx, uri).Execute()).get(t, "GetDataset")
	equal(t, "dataset by URI", dataset.GetId(), page.GetDatasets()[0].GetId())
	require(t, "the dataset's consumer", len(dataset.GetConsumingDags()) == 1)
	consumer := dataset.GetConsumingDags()[0].GetDagId()

	events := ok(api.GetDatasetEvents(s.ctx).DatasetId(dataset.GetId()).OrderBy("-timestamp").Execute()).
		get(t, "GetDatasetEvents")
	equal(t, "events of the dataset", len(events.GetDatasetEvents()), 1)
	event := events.GetDatasetEvents()[0]
	equal(t, "an update reported from outside has no source DAG", event.GetSourceDagId(), "")
	require(t, "the update triggered one run", len(event.GetCreatedDagruns()) == 1)
	run := event.GetCreatedDagruns()[0]
	equal(t, "the triggered run's DAG", run.GetDagId(), consumer)
	upstream := ok(api.GetUpstreamDatasetEvents(s.ctx, consumer, run.GetRunId()).Execute()).
		get(t, "GetUpstreamDatasetEvents")
	equal(t, "the run's upstream events", len(upstream.GetDatasetEvents()), 1)
	equal(t, "the run's upstream event", upstream.GetDatasetEvents()[0].GetDatasetUri(), uri)
}

func TestXComsAndEventLogs(t *testing.T) {
	s := server(t)
	entries := ok(s.api.XComApi.GetXcomEntries(s.ctx, s.dagID, s.runID, "~").Limit(10).Execute()).get(t, "GetXcomEntries")
	require(t, "XComs of the run", len(entries.GetXcomEntries()) > 0)
	first := entries.GetXcomEntries()[0]
	entry := ok(s.api.XComApi.GetXcomEntry(s.ctx, s.dagID, s.runID, first.GetTaskId(), first.GetKey()).Execute()).get(t, "GetXcomEntry")
	require(t, "XCom value", entry.GetValue() != "")

	logs := ok(s.api.EventLogApi.GetEventLogs(s.ctx).OrderBy("-event_log_id").Execute()).get(t, "GetEventLogs")
	require(t, "event logs", len(logs.GetEventLogs()) > 0)
	id := logs.GetEventLogs()[0].GetEventLogId()
	read := ok(s.api.EventLogApi.GetEventLog(s.ctx, id).Execute()).get(t, "GetEventLog")
	equal(t, "read event log", read.GetEventLogId(), id)
}

// Where Windsock deliberately differs from Airflow 2 (docs/differences-from-airflow.md), as this
// client sees it.
func TestDeliberateDifferences(t *testing.T) {
	s := server(t)
	// 201 (Airflow: 200) for a create: the client takes any 2xx and decodes the body.
	pool := airflow.NewPool()
	pool.SetName("airflow_go_client_201")
	pool.SetSlots(1)
	answered := ok(s.api.PoolApi.PostPool(s.ctx).Pool(*pool).Execute())
	created := answered.get(t, "PostPool")
	equal(t, "created pool", created.GetName(), pool.GetName())
	equal(t, "PostPool status", answered.resp.StatusCode, http.StatusCreated)
	done(s.api.PoolApi.DeletePool(s.ctx, pool.GetName()).Execute()).get(t, "DeletePool")

	// 422 (Airflow: 400) for a well-formed body that cannot be processed.
	pool.Slots = nil
	ok(s.api.PoolApi.PostPool(s.ctx).Pool(*pool).Execute()).fails(t, "pool without slots", http.StatusUnprocessableEntity)

	// 404 (Airflow: an empty list) for a list under a DAG or run that does not exist.
	ok(s.api.DAGRunApi.GetDagRuns(s.ctx, "no_such_dag").Execute()).fails(t, "runs of an unknown DAG", http.StatusNotFound)
	ok(s.api.TaskInstanceApi.GetTaskInstances(s.ctx, s.dagID, "no_such_run").Execute()).
		fails(t, "task instances of an unknown run", http.StatusNotFound)
}
