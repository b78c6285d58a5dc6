// End-to-end tests of the generated Go SDK against a running `windsock api-server`.
//
// Hand-written (protected from regeneration by .openapi-generator-ignore) and limited to the
// standard library. The server is named by the environment:
//
//	WINDSOCK_TEST_URL       base URL of the server, e.g. http://127.0.0.1:8080
//	WINDSOCK_TEST_USERNAME  user to authenticate as (default "admin")
//	WINDSOCK_TEST_PASSWORD  that user's password
//
// Without WINDSOCK_TEST_URL the tests are skipped, except under CI (env CI set), where they fail.
// tests/e2e/test_go_sdk.py runs them against a server it starts.
package windsock_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	windsock "github.com/windsock/windsock-go"
)

const (
	errorTypeBase = "/api/v1/docs/errors"
	defaultPool   = "default_pool"
)

// server returns a client for the server under test and a context carrying its credentials.
func server(t *testing.T) (*windsock.APIClient, context.Context) {
	t.Helper()
	base := strings.TrimRight(os.Getenv("WINDSOCK_TEST_URL"), "/")
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("WINDSOCK_TEST_URL is not set; under CI the end-to-end tests must run")
		}
		t.Skip("WINDSOCK_TEST_URL is not set; skipping the end-to-end tests " +
			"(run tests/e2e/test_go_sdk.py, or point WINDSOCK_TEST_URL at a running server)")
	}
	username := os.Getenv("WINDSOCK_TEST_USERNAME")
	if username == "" {
		username = "admin"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	ctx = context.WithValue(ctx, windsock.ContextBasicAuth, windsock.BasicAuth{
		UserName: username,
		Password: os.Getenv("WINDSOCK_TEST_PASSWORD"),
	})
	return newClient(base), ctx
}

func newClient(base string) *windsock.APIClient {
	cfg := windsock.NewConfiguration()
	cfg.Servers = windsock.ServerConfigurations{{URL: base + "/api/v1"}}
	cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	return windsock.NewAPIClient(cfg)
}

// unique returns a resource name that no other test run uses.
func unique(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
}

// must fails the test when err is set, showing the problem document the server sent.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		var apiErr *windsock.GenericOpenAPIError
		if errors.As(err, &apiErr) {
			t.Fatalf("%s: %v\n%s", what, err, apiErr.Body())
		}
		t.Fatalf("%s: %v", what, err)
	}
}

// problem asserts err is a GenericOpenAPIError whose body decoded into an Error model with the
// given status, and returns that model.
func problem(t *testing.T, err error, resp *http.Response, status int) windsock.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an error with status %d, got none", status)
	}
	var apiErr *windsock.GenericOpenAPIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("expected *GenericOpenAPIError, got %T: %v", err, err)
	}
	if resp == nil || resp.StatusCode != status {
		t.Fatalf("expected HTTP %d, got response %v (%v)", status, resp, err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	model, ok := apiErr.Model().(windsock.Error)
	if !ok {
		t.Fatalf("Model() is %T, want windsock.Error; body: %s", apiErr.Model(), apiErr.Body())
	}
	if int(model.GetStatus()) != status {
		t.Errorf("problem status = %d, want %d", model.GetStatus(), status)
	}
	if !strings.HasPrefix(model.GetType(), errorTypeBase) {
		t.Errorf("problem type = %q, want a URI under %s", model.GetType(), errorTypeBase)
	}
	if model.GetTitle() == "" {
		t.Error("problem title is empty")
	}
	return model
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

// walk fetches every page of a collection, `limit` at a time, checking that total_entries stays
// the same and that every page but the last is full; it returns the names in listed order.
func walk(t *testing.T, limit int32, fetch func(limit, offset int32) ([]string, int32, error)) []string {
	t.Helper()
	var all []string
	var total int32 = -1
	pages := 0
	for offset := int32(0); total < 0 || offset < total; offset += limit {
		names, pageTotal, err := fetch(limit, offset)
		must(t, fmt.Sprintf("list limit=%d offset=%d", limit, offset), err)
		if total >= 0 && pageTotal != total {
			t.Fatalf("total_entries changed from %d to %d between pages", total, pageTotal)
		}
		total = pageTotal
		want := total - offset
		if want > limit {
			want = limit
		}
		if want < 0 {
			want = 0
		}
		if int32(len(names)) != want {
			t.Fatalf("page at offset %d has %d items, want %d (total %d)", offset, len(names), want, total)
		}
		all = append(all, names...)
		pages++
		if total == 0 {
			break
		}
	}
	if int32(len(all)) != total {
		t.Fatalf("pages held %d items, total_entries says %d", len(all), total)
	}
	if pages < 2 {
		t.Fatalf("expected several pages of %d, got %d", limit, pages)
	}
	return all
}

func withPrefix(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

func TestHealthAndVersion(t *testing.T) {
	client, ctx := server(t)

	// /health needs no credentials.
	health, _, err := client.MonitoringAPI.GetHealth(context.Background()).Execute()
	must(t, "get health", err)
	equal(t, "metadatabase status", health.Metadatabase.GetStatus(), windsock.HEALTHSTATUS_HEALTHY)

	version, _, err := client.MonitoringAPI.GetVersion(ctx).Execute()
	must(t, "get version", err)
	if version.GetVersion() == "" {
		t.Error("version is empty")
	}
}

func TestUnauthorized(t *testing.T) {
	client, ctx := server(t)
	wrong := context.WithValue(ctx, windsock.ContextBasicAuth, windsock.BasicAuth{
		UserName: "admin", Password: "not-the-password"})
	_, resp, err := client.VariableAPI.GetVariables(wrong).Execute()
	model := problem(t, err, resp, http.StatusUnauthorized)
	equal(t, "title", model.GetTitle(), "Unauthorized")
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("WWW-Authenticate = %q, want a Basic challenge", resp.Header.Get("WWW-Authenticate"))
	}

	_, resp, err = client.PoolAPI.GetPools(context.Background()).Execute()
	problem(t, err, resp, http.StatusUnauthorized)
}

func TestVariables(t *testing.T) {
	client, ctx := server(t)
	api := client.VariableAPI
	prefix := unique("go_var")

	keys := make([]string, 7)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s_%02d", prefix, i)
	}
	t.Cleanup(func() {
		for _, key := range keys {
			_, _ = api.DeleteVariable(context.WithoutCancel(ctx), key).Execute()
		}
	})

	// create
	for i := len(keys) - 1; i >= 0; i-- {
		v := windsock.NewVariable(keys[i], "value "+keys[i])
		if i == 0 {
			v.SetDescription("first one")
		}
		created, _, err := api.PostVariables(ctx).Variable(*v).Execute()
		must(t, "create variable", err)
		equal(t, "created key", created.GetKey(), keys[i])
		equal(t, "created value", created.GetValue(), "value "+keys[i])
	}

	// list with paging: the collection is sorted by key, and ours come out in order
	all := walk(t, 3, func(limit, offset int32) ([]string, int32, error) {
		page, _, err := api.GetVariables(ctx).Limit(limit).Offset(offset).Execute()
		if err != nil {
			return nil, 0, err
		}
		var names []string
		for _, v := range page.GetVariables() {
			names = append(names, v.GetKey())
		}
		return names, page.GetTotalEntries(), nil
	})
	if !sort.StringsAreSorted(all) {
		t.Errorf("variables are not sorted by key: %v", all)
	}
	equal(t, "listed variables", withPrefix(all, prefix), keys)

	desc, _, err := api.GetVariables(ctx).OrderBy("-key").Limit(int32(len(all))).Execute()
	must(t, "list descending", err)
	var descKeys []string
	for _, v := range desc.GetVariables() {
		descKeys = append(descKeys, v.GetKey())
	}
	reversed := append([]string(nil), all...)
	sort.Sort(sort.Reverse(sort.StringSlice(reversed)))
	equal(t, "variables by -key", descKeys, reversed)

	// get
	got, _, err := api.GetVariable(ctx, keys[0]).Execute()
	must(t, "get variable", err)
	equal(t, "value", got.GetValue(), "value "+keys[0])
	equal(t, "description", got.GetDescription(), "first one")

	// patch with update_mask: only value changes although the body carries a description
	update := windsock.NewVariableUpdate()
	update.SetValue("patched")
	update.SetDescription("ignored")
	patched, _, err := api.PatchVariable(ctx, keys[0]).VariableUpdate(*update).
		UpdateMask([]string{"value"}).Execute()
	must(t, "patch variable", err)
	equal(t, "patched value", patched.GetValue(), "patched")
	equal(t, "patched description", patched.GetDescription(), "first one")
	got, _, err = api.GetVariable(ctx, keys[0]).Execute()
	must(t, "get patched variable", err)
	equal(t, "stored value", got.GetValue(), "patched")

	// delete
	resp, err := api.DeleteVariable(ctx, keys[0]).Execute()
	must(t, "delete variable", err)
	equal(t, "delete status", resp.StatusCode, http.StatusNoContent)

	// typed error: the deleted variable is a 404 problem
	_, resp, err = api.GetVariable(ctx, keys[0]).Execute()
	model := problem(t, err, resp, http.StatusNotFound)
	equal(t, "type", model.GetType(), errorTypeBase+"#not-found")
	equal(t, "title", model.GetTitle(), "Not Found")
	if !strings.Contains(model.GetDetail(), keys[0]) {
		t.Errorf("detail %q does not name the variable %q", model.GetDetail(), keys[0])
	}

	// a POST of a key that exists replaces its value, as in Airflow 2: 200 rather than 201
	replaced, resp, err := api.PostVariables(ctx).Variable(*windsock.NewVariable(keys[1], "again")).Execute()
	must(t, "post over an existing key", err)
	equal(t, "status of a post over an existing key", resp.StatusCode, http.StatusOK)
	equal(t, "replaced value", replaced.GetValue(), "again")
}

func TestConnections(t *testing.T) {
	client, ctx := server(t)
	api := client.ConnectionAPI
	prefix := unique("go_conn")

	ids := make([]string, 5)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s_%02d", prefix, i)
	}
	t.Cleanup(func() {
		for _, id := range ids {
			_, _ = api.DeleteConnection(context.WithoutCancel(ctx), id).Execute()
		}
	})

	// create
	for _, id := range ids {
		c := windsock.NewConnectionCreate(id, "postgres")
		c.SetHost(id + ".internal")
		c.SetLogin("reporting")
		c.SetPassword("s3cr3t")
		c.SetSchema("analytics")
		c.SetPort(5432)
		c.SetExtra(`{"sslmode": "require"}`)
		created, _, err := api.PostConnection(ctx).ConnectionCreate(*c).Execute()
		must(t, "create connection", err)
		equal(t, "created id", created.GetConnectionId(), id)
		equal(t, "created host", created.GetHost(), id+".internal")
		equal(t, "created port", created.GetPort(), int32(5432))
	}

	// list with paging
	all := walk(t, 2, func(limit, offset int32) ([]string, int32, error) {
		page, _, err := api.GetConnections(ctx).Limit(limit).Offset(offset).Execute()
		if err != nil {
			return nil, 0, err
		}
		var names []string
		for _, c := range page.GetConnections() {
			names = append(names, c.GetConnectionId())
		}
		return names, page.GetTotalEntries(), nil
	})
	equal(t, "listed connections", withPrefix(all, prefix), ids)

	// get
	got, _, err := api.GetConnection(ctx, ids[0]).Execute()
	must(t, "get connection", err)
	equal(t, "conn_type", got.GetConnType(), "postgres")
	equal(t, "login", got.GetLogin(), "reporting")
	equal(t, "schema", got.GetSchema(), "analytics")

	// patch with update_mask: only port changes
	update := windsock.NewConnectionUpdate()
	update.SetPort(6432)
	update.SetHost("ignored.internal")
	patched, _, err := api.PatchConnection(ctx, ids[0]).ConnectionUpdate(*update).
		UpdateMask([]string{"port"}).Execute()
	must(t, "patch connection", err)
	equal(t, "patched port", patched.GetPort(), int32(6432))
	equal(t, "patched host", patched.GetHost(), ids[0]+".internal")

	// delete, then the typed 404
	_, err = api.DeleteConnection(ctx, ids[0]).Execute()
	must(t, "delete connection", err)
	_, resp, err := api.GetConnection(ctx, ids[0]).Execute()
	model := problem(t, err, resp, http.StatusNotFound)
	equal(t, "type", model.GetType(), errorTypeBase+"#not-found")
}

func TestPools(t *testing.T) {
	client, ctx := server(t)
	api := client.PoolAPI
	prefix := unique("go_pool")

	names := make([]string, 5)
	for i := range names {
		names[i] = fmt.Sprintf("%s_%02d", prefix, i)
	}
	t.Cleanup(func() {
		for _, name := range names {
			_, _ = api.DeletePool(context.WithoutCancel(ctx), name).Execute()
		}
	})

	// create
	for _, name := range names {
		p := windsock.NewPoolCreate(name, 4)
		p.SetDescription("pool " + name)
		created, _, err := api.PostPool(ctx).PoolCreate(*p).Execute()
		must(t, "create pool", err)
		equal(t, "created name", created.GetName(), name)
		equal(t, "created slots", created.GetSlots(), int32(4))
		equal(t, "created open slots", created.GetOpenSlots(), int32(4))
		equal(t, "created include_deferred", created.GetIncludeDeferred(), false)
	}

	// list with paging; default_pool is always there
	all := walk(t, 2, func(limit, offset int32) ([]string, int32, error) {
		page, _, err := api.GetPools(ctx).Limit(limit).Offset(offset).Execute()
		if err != nil {
			return nil, 0, err
		}
		var out []string
		for _, p := range page.GetPools() {
			out = append(out, p.GetName())
		}
		return out, page.GetTotalEntries(), nil
	})
	mine := withPrefix(all, prefix)
	sort.Strings(mine)
	equal(t, "listed pools", mine, names)
	if len(withPrefix(all, defaultPool)) != 1 {
		t.Errorf("default_pool is not listed exactly once: %v", all)
	}

	// get
	got, _, err := api.GetPool(ctx, names[0]).Execute()
	must(t, "get pool", err)
	equal(t, "description", got.GetDescription(), "pool "+names[0])

	// patch with update_mask: only slots change
	update := windsock.NewPoolUpdate()
	update.SetSlots(10)
	update.SetDescription("ignored")
	patched, _, err := api.PatchPool(ctx, names[0]).PoolUpdate(*update).
		UpdateMask([]string{"slots"}).Execute()
	must(t, "patch pool", err)
	equal(t, "patched slots", patched.GetSlots(), int32(10))
	equal(t, "patched open slots", patched.GetOpenSlots(), int32(10))
	equal(t, "patched description", patched.GetDescription(), "pool "+names[0])

	// delete, then the typed 404
	_, err = api.DeletePool(ctx, names[0]).Execute()
	must(t, "delete pool", err)
	_, resp, err := api.GetPool(ctx, names[0]).Execute()
	model := problem(t, err, resp, http.StatusNotFound)
	equal(t, "type", model.GetType(), errorTypeBase+"#not-found")
	equal(t, "title", model.GetTitle(), "Not Found")

	// creating a pool whose name is taken is a 409 problem
	_, resp, err = api.PostPool(ctx).PoolCreate(*windsock.NewPoolCreate(names[1], 1)).Execute()
	model = problem(t, err, resp, http.StatusConflict)
	equal(t, "title", model.GetTitle(), "Conflict")
}
