package fakegraph

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func token(t *testing.T, s *Server, tenant string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {"c"}, "client_secret": {"s"},
		"refresh_token": {"rt"}, "scope": {GraphScope}}
	resp, err := http.Post(s.AuthorityURL()+tenant+"/oauth2/v2.0/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func get(t *testing.T, tok, rawURL string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, rawURL, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	return resp.StatusCode, body
}

func TestFake_WireFormat(t *testing.T) {
	s := New(Options{ClientID: "c", ClientSecret: "s"})
	defer s.Close()
	tn := s.AddTenant("t1")
	tn.AddUser(User{ID: "u1", UserPrincipalName: "a@x", AccountEnabled: true})
	for _, g := range []string{"g1", "g2", "g3"} {
		tn.AddGroup(Group{ID: g, DisplayName: g, Members: []string{"u1"}})
	}
	s.SetPageSize(2)

	if code, body := token(t, s, "nope"); code != 400 || !strings.Contains(body["error_description"].(string), "AADSTS50020") {
		t.Fatalf("unknown tenant: %d %v", code, body)
	}
	tn.SetConsented(false)
	if code, body := token(t, s, "t1"); code != 400 || body["error_codes"].([]any)[0].(float64) != 65001 {
		t.Fatalf("not consented: %d %v", code, body)
	}
	tn.SetConsented(true)
	code, body := token(t, s, "t1")
	if code != 200 {
		t.Fatalf("token: %d %v", code, body)
	}
	tok := body["access_token"].(string)

	// Without $select the reset-relevant properties are absent, as in Graph.
	_, u := get(t, tok, s.URL()+"/v1.0/users/u1", nil)
	if _, ok := u["accountEnabled"]; ok {
		t.Fatalf("accountEnabled without $select: %v", u)
	}
	_, u = get(t, tok, s.URL()+"/v1.0/users/u1?$select=id,accountEnabled", nil)
	if u["accountEnabled"] != true || u["userPrincipalName"] != nil {
		t.Fatalf("$select: %v", u)
	}
	// A cast needs the advanced-query headers; pages link on verbatim.
	groups := s.URL() + "/v1.0/users/u1/transitiveMemberOf/microsoft.graph.group?$count=true"
	if code, _ := get(t, tok, groups, nil); code != 400 {
		t.Fatalf("cast without ConsistencyLevel: %d", code)
	}
	var ids []string
	next := groups
	for next != "" {
		_, page := get(t, tok, next, map[string]string{"ConsistencyLevel": "eventual"})
		for _, v := range page["value"].([]any) {
			ids = append(ids, v.(map[string]any)["id"].(string))
		}
		next, _ = page["@odata.nextLink"].(string)
	}
	if strings.Join(ids, ",") != "g1,g2,g3" {
		t.Fatalf("paged groups = %v", ids)
	}
	tn.SetPIMLicensed(false)
	if code, body := get(t, tok, s.URL()+"/v1.0/roleManagement/directory/roleEligibilityScheduleInstances?$filter=principalId+eq+'u1'", nil); code != 403 ||
		body["error"].(map[string]any)["code"] != "AadPremiumLicenseRequired" {
		t.Fatalf("PIM without licence: %d %v", code, body)
	}
	s.AddFault(Fault{PathContains: "/users/u1", Status: 429, RetryAfter: "7", Times: 1})
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/v1.0/users/u1", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("throttle: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code, _ := get(t, tok, s.URL()+"/v1.0/groups", nil); code != 400 || len(s.Unexpected()) != 1 {
		t.Fatalf("unknown route: %d, unexpected %v", code, s.Unexpected())
	}
}
