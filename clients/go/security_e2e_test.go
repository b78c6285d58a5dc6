// End-to-end tests of authentication and permissions through the generated Go SDK against a
// running `windsock api-server`: basic credentials, access tokens from POST /auth/token, personal
// API tokens, and the 403 a user's roles lead to.
//
// Hand-written (protected from regeneration by .openapi-generator-ignore) and limited to the
// standard library. The server and the admin credentials are named by the variables
// windsock_e2e_test.go reads (WINDSOCK_TEST_URL, WINDSOCK_TEST_USERNAME, WINDSOCK_TEST_PASSWORD),
// with the same policy: skipped without a URL, failed instead under CI.
package windsock_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	windsock "github.com/windsock/windsock-go"
)

// anonymous returns ctx without the basic credentials server() put in it. The SDK sends every
// credential it finds in the context, so a bearer token must not travel with them.
func anonymous(ctx context.Context) context.Context {
	return context.WithValue(ctx, windsock.ContextBasicAuth, nil)
}

// withBearer returns ctx authenticating with `token` only.
func withBearer(ctx context.Context, token string) context.Context {
	return context.WithValue(anonymous(ctx), windsock.ContextAccessToken, token)
}

// withBasic returns ctx authenticating as another user.
func withBasic(ctx context.Context, username, password string) context.Context {
	return context.WithValue(ctx, windsock.ContextBasicAuth,
		windsock.BasicAuth{UserName: username, Password: password})
}

// admin returns the credentials server() authenticates with.
func admin() (string, string) {
	username := os.Getenv("WINDSOCK_TEST_USERNAME")
	if username == "" {
		username = "admin"
	}
	return username, os.Getenv("WINDSOCK_TEST_PASSWORD")
}

// listVariables lists variables with ctx's credentials and fails the test unless that works.
func listVariables(t *testing.T, client *windsock.APIClient, ctx context.Context, as string) {
	t.Helper()
	_, resp, err := client.VariableAPI.GetVariables(ctx).Limit(1).Execute()
	must(t, "list variables "+as, err)
	equal(t, "status listing variables "+as, resp.StatusCode, http.StatusOK)
}

// refused asserts that listing variables with ctx's credentials is a 401 problem.
func refused(t *testing.T, client *windsock.APIClient, ctx context.Context) windsock.Error {
	t.Helper()
	_, resp, err := client.VariableAPI.GetVariables(ctx).Execute()
	model := problem(t, err, resp, http.StatusUnauthorized)
	equal(t, "title", model.GetTitle(), "Unauthorized")
	return model
}

func TestBasicAuth(t *testing.T) {
	client, ctx := server(t)
	key := unique("go_basic")
	t.Cleanup(func() { _, _ = client.VariableAPI.DeleteVariable(context.WithoutCancel(ctx), key).Execute() })

	_, _, err := client.VariableAPI.PostVariables(ctx).Variable(*windsock.NewVariable(key, "1")).Execute()
	must(t, "create a variable with basic credentials", err)
	got, _, err := client.VariableAPI.GetVariable(ctx, key).Execute()
	must(t, "read it back", err)
	equal(t, "value", got.GetValue(), "1")

	// An unknown user gets the same problem as a wrong password (TestUnauthorized).
	_, password := admin()
	model := refused(t, client, withBasic(ctx, unique("go_nobody"), password))
	if !strings.HasPrefix(model.GetType(), errorTypeBase) {
		t.Errorf("type = %q", model.GetType())
	}
}

func TestAccessToken(t *testing.T) {
	client, ctx := server(t)

	issued, resp, err := client.AuthAPI.CreateAccessToken(ctx).Execute()
	must(t, "create an access token with basic credentials", err)
	equal(t, "token_type", issued.GetTokenType(), "Bearer")
	if issued.GetExpiresIn() <= 0 {
		t.Errorf("expires_in = %d, want > 0", issued.GetExpiresIn())
	}
	equal(t, "Cache-Control", resp.Header.Get("Cache-Control"), "no-store")

	bearer := withBearer(ctx, issued.GetAccessToken())
	key := unique("go_bearer")
	t.Cleanup(func() { _, _ = client.VariableAPI.DeleteVariable(context.WithoutCancel(ctx), key).Execute() })
	_, _, err = client.VariableAPI.PostVariables(bearer).Variable(*windsock.NewVariable(key, "1")).Execute()
	must(t, "create a variable with the access token", err)
	_, _, err = client.VariableAPI.GetVariable(ctx, key).Execute()
	must(t, "read it back with basic credentials", err)

	// Credentials in the body instead of basic authentication; with neither, no token.
	_, resp, err = client.AuthAPI.CreateAccessToken(anonymous(ctx)).Execute()
	problem(t, err, resp, http.StatusUnauthorized)
	username, password := admin()
	fromBody, _, err := client.AuthAPI.CreateAccessToken(anonymous(ctx)).
		TokenRequest(*windsock.NewTokenRequest(username, password)).Execute()
	must(t, "create an access token with credentials in the body", err)
	listVariables(t, client, withBearer(ctx, fromBody.GetAccessToken()), "with the body's token")

	// An access token is not exchanged for another one: the operation does not take Bearer.
	_, resp, err = client.AuthAPI.CreateAccessToken(bearer).Execute()
	problem(t, err, resp, http.StatusUnauthorized)

	refused(t, client, withBearer(ctx, issued.GetAccessToken()+"x"))
}

func TestPersonalToken(t *testing.T) {
	client, ctx := server(t)
	auth := client.AuthAPI
	name := unique("go_token")

	created, resp, err := auth.CreateApiToken(ctx).ApiTokenCreate(*windsock.NewApiTokenCreate(name)).Execute()
	must(t, "create a personal token", err)
	t.Cleanup(func() { _, _ = auth.RevokeApiToken(context.WithoutCancel(ctx), created.GetId()).Execute() })
	equal(t, "status", resp.StatusCode, http.StatusCreated)
	if !strings.HasPrefix(created.GetToken(), "wsk_") {
		t.Fatalf("token %q does not start with wsk_", created.GetToken())
	}
	if at, _ := created.GetExpiresAtOk(); at != nil {
		t.Errorf("a token created without expires_in_days expires at %v", *at)
	}

	bearer := withBearer(ctx, created.GetToken())
	listVariables(t, client, bearer, "with the personal token")

	// Listed, used, without the secret.
	listed, resp, err := auth.GetApiTokens(ctx).Limit(100).Execute()
	must(t, "list personal tokens", err)
	var mine *windsock.ApiToken
	for _, token := range listed.GetApiTokens() {
		if token.GetId() == created.GetId() {
			mine = &token
		}
	}
	if mine == nil {
		t.Fatalf("token %d is not listed: %+v", created.GetId(), listed.GetApiTokens())
	}
	equal(t, "listed name", mine.GetName(), name)
	if at, _ := mine.GetLastUsedAtOk(); at == nil {
		t.Error("last_used_at is not set after the token authenticated a request")
	}
	raw, err := io.ReadAll(resp.Body)
	must(t, "read the raw list", err)
	if strings.Contains(string(raw), created.GetToken()) {
		t.Error("the token list contains the secret")
	}
	var page struct {
		ApiTokens []map[string]any `json:"api_tokens"`
	}
	must(t, "decode the raw list", json.Unmarshal(raw, &page))
	for _, item := range page.ApiTokens {
		if _, has := item["token"]; has {
			t.Errorf("a listed token has a token field: %v", item)
		}
	}

	resp, err = auth.RevokeApiToken(ctx, created.GetId()).Execute()
	must(t, "revoke the personal token", err)
	equal(t, "revoke status", resp.StatusCode, http.StatusNoContent)
	refused(t, client, bearer)
}

func TestForbiddenForViewer(t *testing.T) {
	client, ctx := server(t)
	username, password := unique("go_viewer"), "viewer-password-1"

	user := windsock.NewUserCreate("Vera", "Viewer", username, username+"@example.org", password)
	user.SetRoles([]windsock.RoleReference{*windsock.NewRoleReference("Viewer")})
	created, _, err := client.UserAPI.PostUser(ctx).UserCreate(*user).Execute()
	must(t, "create a Viewer", err)
	t.Cleanup(func() { _, _ = client.UserAPI.DeleteUser(context.WithoutCancel(ctx), username).Execute() })
	equal(t, "roles", created.GetRoles(), []windsock.RoleReference{*windsock.NewRoleReference("Viewer")})

	viewer := withBasic(ctx, username, password)
	_, _, err = client.MonitoringAPI.GetVersion(viewer).Execute()
	must(t, "get the version as the Viewer", err)

	key := unique("go_denied")
	t.Cleanup(func() { _, _ = client.VariableAPI.DeleteVariable(context.WithoutCancel(ctx), key).Execute() })
	_, resp, err := client.VariableAPI.PostVariables(viewer).Variable(*windsock.NewVariable(key, "1")).Execute()
	model := problem(t, err, resp, http.StatusForbidden)
	equal(t, "type", model.GetType(), errorTypeBase+"#forbidden")
	equal(t, "title", model.GetTitle(), "Forbidden")
	equal(t, "detail", model.GetDetail(), "User '"+username+"' lacks the permission can_create on Variables.")

	_, resp, err = client.VariableAPI.GetVariable(ctx, key).Execute()
	problem(t, err, resp, http.StatusNotFound)
}
