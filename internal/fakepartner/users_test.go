package fakepartner

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestUsersPagingAcrossThreePages(t *testing.T) {
	s := newFake(t)
	seedContoso(s, 5)
	s.SetPageSize(2)
	at := accessToken(t, s)

	var seen []string
	page := func(r response, wantLen int, last bool) map[string]any {
		t.Helper()
		if r.status != http.StatusOK {
			t.Fatalf("status %d", r.status)
		}
		m := r.json(t)
		items, _ := m["items"].([]any)
		if len(items) != wantLen {
			t.Fatalf("page has %d items, want %d", len(items), wantLen)
		}
		if n := m["totalCount"].(json.Number).String(); n != itoa(wantLen) {
			t.Errorf("totalCount = %s, want the page length %d", n, wantLen)
		}
		for _, it := range items {
			seen = append(seen, get(it, "id").(string))
		}
		tok, ok := m["continuationToken"].(string)
		if !ok {
			t.Fatal("continuationToken missing")
		}
		_, hasNext := get(m, "links").(map[string]any)["next"]
		if last != (tok == "") || last == hasNext {
			t.Errorf("last page %v: continuationToken empty %v, links.next present %v", last, tok == "", hasNext)
		}
		return m
	}

	p1 := page(pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users", ""), 2, false)
	// Page 2: follow links.next literally (uri without /v1, headers as key/value).
	next := get(p1, "links", "next").(map[string]any)
	if next["uri"] != "/customers/"+contosoID+"/users?seekOperation=Next" || next["method"] != "GET" {
		t.Errorf("links.next = %v %v", next["method"], next["uri"])
	}
	hdr := get(next, "headers", "0").(map[string]any)
	if hdr["key"] != "MS-ContinuationToken" || hdr["value"] != p1["continuationToken"] {
		t.Error("links.next.headers does not carry the continuation token")
	}
	p2 := page(pc(t, s, at, http.MethodGet, "/v1"+next["uri"].(string), "", "MS-ContinuationToken", hdr["value"].(string)), 2, false)
	// Page 3: rebuild the seek request from the top-level continuationToken.
	page(pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users?seekOperation=Next", "",
		"MS-ContinuationToken", p2["continuationToken"].(string)), 1, true)

	want := []string{userID(0), userID(1), userID(2), userID(3), userID(4)}
	if !slices.Equal(seen, want) {
		t.Errorf("paged ids = %v, want %v", seen, want)
	}

	t.Run("size parameter overrides the page size", func(t *testing.T) {
		seen = nil
		page(pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users?size=5", ""), 5, true)
	})
	t.Run("bad continuation tokens are 400", func(t *testing.T) {
		seek := "/v1/customers/" + contosoID + "/users?seekOperation=Next"
		wantFault(t, pc(t, s, at, http.MethodGet, seek, ""), http.StatusBadRequest, "800002")
		wantFault(t, pc(t, s, at, http.MethodGet, seek, "", "MS-ContinuationToken", "never-issued"), http.StatusBadRequest, "800002")
		s.ExpireContinuationTokens()
		wantFault(t, pc(t, s, at, http.MethodGet, seek, "", "MS-ContinuationToken", p2["continuationToken"].(string)), http.StatusBadRequest, "800002")
	})
}

func TestUsersDefaultPageSizeIs100(t *testing.T) {
	s := newFake(t)
	seedContoso(s, 101)
	m := pc(t, s, accessToken(t, s), http.MethodGet, "/v1/customers/"+contosoID+"/users", "").json(t)
	if n := len(m["items"].([]any)); n != 100 {
		t.Errorf("first page has %d users, want 100", n)
	}
}

func TestUserShape(t *testing.T) {
	s := newFake(t)
	s.AddCustomer(Customer{TenantID: contosoID, Name: "Contoso Ltd", Domain: "contoso.onmicrosoft.com"})
	synced := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("CEST", 2*3600))
	s.AddUser(contosoID, User{ObjectID: userID(1), UPN: "daniel@contoso.onmicrosoft.com", FirstName: "Daniel", LastName: "Tsai", DisplayName: "Daniel Tsai", UsageLocation: "US"})
	s.AddUser(contosoID, User{ObjectID: userID(2), UPN: "onprem@contoso.com", LastDirectorySyncTime: &synced, DomainType: "federated", State: "inactive"})
	at := accessToken(t, s)

	var raw map[string]json.RawMessage
	r := pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users/"+userID(1), "")
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"id":                    `"` + userID(1) + `"`,
		"userPrincipalName":     `"daniel@contoso.onmicrosoft.com"`,
		"firstName":             `"Daniel"`,
		"displayName":           `"Daniel Tsai"`,
		"usageLocation":         `"US"`,
		"lastDirectorySyncTime": `null`,
		"userDomainType":        `"none"`,
		"state":                 `"active"`,
		"attributes":            `{"objectType":"CustomerUser"}`,
		"links":                 `{"self":{"uri":"/customers/` + contosoID + `/users/` + userID(1) + `","method":"GET","headers":[]}}`,
	}
	for k, v := range want {
		if string(raw[k]) != v {
			t.Errorf("%s = %s, want %s", k, raw[k], v)
		}
	}
	if _, ok := raw["passwordProfile"]; ok {
		t.Error("a GET returned a passwordProfile")
	}

	m := pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users/"+userID(2), "").json(t)
	if m["lastDirectorySyncTime"] != "2024-05-06T05:08:09Z" || m["userDomainType"] != "federated" || m["state"] != "inactive" {
		t.Errorf("synced user: lastDirectorySyncTime %v, userDomainType %v, state %v", m["lastDirectorySyncTime"], m["userDomainType"], m["state"])
	}

	t.Run("unknown user or a UPN in place of the ID is 404 60002", func(t *testing.T) {
		wantFault(t, pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users/"+userID(9), ""), http.StatusNotFound, 60002)
		wantFault(t, pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users/daniel@contoso.onmicrosoft.com", ""), http.StatusNotFound, 60002)
	})
	t.Run("BOM switch prefixes the get-user body", func(t *testing.T) {
		s.SetBOM(true)
		defer s.SetBOM(false)
		r := pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users/"+userID(1), "")
		rest, ok := bytes.CutPrefix(r.body, []byte{0xEF, 0xBB, 0xBF})
		if !ok || !json.Valid(rest) {
			t.Error("body does not start with a BOM followed by JSON")
		}
	})
}

func TestDirectoryRolesUseTemplateIDsAndLegacyNames(t *testing.T) {
	s := newFake(t)
	s.AddCustomer(Customer{TenantID: contosoID, Name: "Contoso Ltd", Domain: "contoso.onmicrosoft.com"})
	s.AddUser(contosoID, User{ObjectID: userID(1), UPN: "admin@contoso.onmicrosoft.com", Roles: []Role{
		{TemplateID: "62e90394-69f5-4237-9190-012177145e10"},
		{TemplateID: "FE930BE7-5E62-47DB-91AF-98C3A49A38B1"},
		{TemplateID: "729827e3-9c14-49f7-bb1b-9608f156bbb8"},
		{TemplateID: "0bad0bad-0000-4000-8000-000000000000", Name: "Contoso Custom Role"},
	}})
	s.AddUser(contosoID, User{ObjectID: userID(2), UPN: "plain@contoso.onmicrosoft.com"})
	at := accessToken(t, s)

	r := pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users/"+userID(1)+"/directoryroles", "")
	m := r.json(t)
	want := [][2]string{
		{"Company Administrator", "62e90394-69f5-4237-9190-012177145e10"},
		{"User Account Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"},
		{"Helpdesk Administrator", "729827e3-9c14-49f7-bb1b-9608f156bbb8"},
		{"Contoso Custom Role", "0bad0bad-0000-4000-8000-000000000000"},
	}
	items, _ := m["items"].([]any)
	if len(items) != len(want) {
		t.Fatalf("%d roles, want %d", len(items), len(want))
	}
	for i, w := range want {
		if get(items[i], "name") != w[0] || get(items[i], "id") != w[1] || get(items[i], "attributes", "objectType") != "DirectoryRole" {
			t.Errorf("role %d = %v %v, want %s %s", i, get(items[i], "name"), get(items[i], "id"), w[0], w[1])
		}
	}
	if m["totalCount"].(json.Number).String() != "4" || get(m, "attributes", "objectType") != "Collection" {
		t.Error("collection envelope wrong")
	}

	r = pc(t, s, at, http.MethodGet, "/v1/customers/"+contosoID+"/users/"+userID(2)+"/directoryroles", "")
	if !bytes.Contains(r.body, []byte(`"totalCount":0,"items":[]`)) {
		t.Error("no roles is not an empty items array")
	}
}

func resetBody(password string) string {
	return `{"passwordProfile":{"password":` + quote(password) + `,"forceChangePassword":true},"attributes":{"objectType":"CustomerUser"}}`
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

const goodPassword = "Xk7#mP2$vL9@qR4!"

func TestResetPasswordEchoesAndReplaysByRequestID(t *testing.T) {
	s := newFake(t)
	seedContoso(s, 2)
	at := accessToken(t, s)
	path := "/v1/customers/" + contosoID + "/users/" + userID(1) + "/resetpassword"

	r1 := pc(t, s, at, http.MethodPatch, path, resetBody(goodPassword),
		"MS-RequestId", "b1317092-f087-471e-a637-f66523b2b94c", "MS-CorrelationId", "8a53b025-d5be-4d98-ab20-229d1813de76")
	if r1.status != http.StatusOK {
		t.Fatalf("status %d", r1.status)
	}
	m := r1.json(t)
	if get(m, "passwordProfile", "password") != goodPassword {
		t.Error("the response does not echo the password, as the real API does")
	}
	if get(m, "passwordProfile", "forceChangePassword") != false {
		t.Error("echoed forceChangePassword should be false, as in the docs' example")
	}
	if m["id"] != userID(1) || get(m, "attributes", "objectType") != "CustomerUser" {
		t.Error("the response is not the CustomerUser")
	}
	if r1.header.Get("MS-RequestId") != "b1317092-f087-471e-a637-f66523b2b94c" || r1.header.Get("MS-CorrelationId") != "8a53b025-d5be-4d98-ab20-229d1813de76" {
		t.Error("MS-RequestId / MS-CorrelationId not echoed")
	}

	// A retry with the same MS-RequestId gets the first answer and no second reset.
	r2 := pc(t, s, at, http.MethodPatch, path, resetBody("Other#Pass99x"), "MS-RequestId", "b1317092-f087-471e-a637-f66523b2b94c")
	if r2.status != r1.status || !bytes.Equal(r2.body, r1.body) {
		t.Error("replayed PATCH did not return the first response")
	}
	resets := s.Resets()
	if len(resets) != 1 {
		t.Fatalf("%d resets after a replay, want 1", len(resets))
	}
	got := resets[0]
	if got.TenantID != contosoID || got.UserID != userID(1) || got.Password != goodPassword || !got.ForceChange ||
		got.RequestID != "b1317092-f087-471e-a637-f66523b2b94c" || got.CorrelationID != "8a53b025-d5be-4d98-ab20-229d1813de76" || got.Path != path {
		t.Error("recorded reset does not match the request")
	}

	// PascalCase body (the .NET SDK) on the legacy path, with a new request ID.
	legacy := "/v1/customers/" + contosoID + "/users/" + userID(0)
	r3 := pc(t, s, at, http.MethodPatch, legacy, `{"PasswordProfile":{"ForceChangePassword":true,"Password":"Renew456*Xy"},"Attributes":{"ObjectType":"CustomerUser"}}`,
		"MS-RequestId", "c2428103-0000-4000-8000-000000000003")
	if r3.status != http.StatusOK {
		t.Fatalf("legacy PascalCase reset: status %d", r3.status)
	}
	resets = s.Resets()
	if len(resets) != 2 || resets[1].Path != legacy || resets[1].Password != "Renew456*Xy" || !resets[1].ForceChange {
		t.Error("legacy PascalCase reset not recorded as sent")
	}
}

func TestResetPasswordRejections(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		ctype  string
		status int
	}{
		{name: "too short", body: resetBody("Ab1!xyz"), status: 400},
		{name: "too long", body: resetBody("Ab1!" + strings.Repeat("x", 253)), status: 400},
		{name: "only two character classes", body: resetBody("abcdefgh1234"), status: 400},
		{name: "character outside the allowed set", body: resetBody("Pässwort!123X"), status: 400},
		{name: "banned word", body: resetBody("MyPassword!2024"), status: 400},
		{name: "banned word behind substitutions", body: resetBody("Welc0me#2024x"), status: 400},
		{name: "tenant name", body: resetBody("C0nt0$o!Rocks9"), status: 400},
		{name: "missing password", body: `{"passwordProfile":{"forceChangePassword":true}}`, status: 400},
		{name: "missing passwordProfile", body: `{"password":"Xk7#mP2$vL9@qR4!"}`, status: 400},
		{name: "not JSON", body: `password=Xk7`, status: 400},
		{name: "non-boolean forceChangePassword", body: `{"passwordProfile":{"password":"Xk7#mP2$vL9@qR4!","forceChangePassword":"yes"}}`, status: 400},
		{name: "not sent as JSON", body: resetBody(goodPassword), ctype: "text/plain", status: http.StatusUnsupportedMediaType},
	}
	s := newFake(t)
	seedContoso(s, 1)
	at := accessToken(t, s)
	path := "/v1/customers/" + contosoID + "/users/" + userID(0) + "/resetpassword"
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := []string{"MS-RequestId", "d0000000-0000-4000-8000-" + userID(i)[24:]}
			if tt.ctype != "" {
				hdr = append(hdr, "Content-Type", tt.ctype)
			}
			r := pc(t, s, at, http.MethodPatch, path, tt.body, hdr...)
			wantFault(t, r, tt.status, "800002")
			if bytes.Contains(r.body, []byte("Xk7#")) || bytes.Contains(r.body, []byte("2024")) {
				t.Error("the error body repeats the password")
			}
		})
	}
	if n := len(s.Resets()); n != 0 {
		t.Errorf("%d resets applied by rejected requests", n)
	}
	t.Run("unknown user is 404 60002", func(t *testing.T) {
		r := pc(t, s, at, http.MethodPatch, "/v1/customers/"+contosoID+"/users/"+userID(7)+"/resetpassword", resetBody(goodPassword))
		wantFault(t, r, http.StatusNotFound, 60002)
	})
	t.Run("a good password passes", func(t *testing.T) {
		if r := pc(t, s, at, http.MethodPatch, path, resetBody(goodPassword)); r.status != http.StatusOK {
			t.Errorf("status %d", r.status)
		}
	})
}
