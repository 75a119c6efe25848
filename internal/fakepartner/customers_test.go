package fakepartner

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func seedCustomers(s *Server) {
	s.AddCustomer(Customer{TenantID: contosoID, Name: "Contoso Ltd", Domain: "contoso.onmicrosoft.com"})
	s.AddCustomer(Customer{TenantID: "c5757d70-0000-4000-8000-000000000002", Name: "Contoso Pharma", Domain: "contosopharma.onmicrosoft.com"})
	s.AddCustomer(Customer{TenantID: fabrikamID, Name: "Fabrikam", Domain: "fabrikam.onmicrosoft.com"})
	s.AddCustomer(Customer{TenantID: "d0d0d0d0-0000-4000-8000-000000000004", Name: "Contoso Gone", Domain: "contosogone.onmicrosoft.com", Relationship: "none"})
}

func TestCustomerByIDShape(t *testing.T) {
	s := newFake(t)
	seedCustomers(s)
	r := pc(t, s, accessToken(t, s), http.MethodGet, "/v1/customers/"+strings.ToUpper(contosoID), "")
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	m := r.json(t)
	checks := map[string]any{
		"id":                                   contosoID,
		"companyProfile.tenantId":              contosoID,
		"companyProfile.companyName":           "Contoso Ltd",
		"companyProfile.domain":                "contoso.onmicrosoft.com",
		"companyProfile.attributes.objectType": "CustomerCompanyProfile",
		"relationshipToPartner":                "reseller",
		"allowDelegatedAccess":                 true,
		"links.self.uri":                       "/customers/" + contosoID,
		"links.self.method":                    "GET",
		"attributes.objectType":                "Customer",
	}
	for path, want := range checks {
		if got := get(m, strings.Split(path, ".")...); got != want {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestCustomerLookupFailures(t *testing.T) {
	s := newFake(t)
	seedCustomers(s)
	at := accessToken(t, s)
	t.Run("unknown tenant is 404 60003", func(t *testing.T) {
		wantFault(t, pc(t, s, at, http.MethodGet, "/v1/customers/11111111-2222-4333-8444-555555555555", ""), http.StatusNotFound, 60003)
	})
	t.Run("lost relationship is 403 with numeric 20002", func(t *testing.T) {
		r := pc(t, s, at, http.MethodGet, "/v1/customers/d0d0d0d0-0000-4000-8000-000000000004/users", "")
		wantFault(t, r, http.StatusForbidden, 20002)
		if d := r.json(t)["description"]; d != "No relationship between caller and account." {
			t.Errorf("description = %v", d)
		}
	})
}

func TestCustomerFilter(t *testing.T) {
	tests := []struct {
		name   string
		filter string
		encode func(string) string
		want   []string // company names, in seeding order
		status int
	}{
		{name: "company name prefix with a space encoded as +",
			filter: `{"Field":"CompanyName","Value":"contoso l","Operator":"starts_with"}`, encode: url.QueryEscape,
			want: []string{"Contoso Ltd"}},
		{name: "company name prefix with a space encoded as %20",
			filter: `{"Field":"CompanyName","Value":"CONTOSO L","Operator":"starts_with"}`, encode: url.PathEscape,
			want: []string{"Contoso Ltd"}},
		{name: "prefix matches several and skips a lost relationship",
			filter: `{"Field":"CompanyName","Value":"Cont","Operator":"starts_with"}`,
			want:   []string{"Contoso Ltd", "Contoso Pharma"}},
		{name: "keys and values are case-insensitive",
			filter: `{"field":"domain","value":"FABRIKAM.","operator":"Starts_With"}`,
			want:   []string{"Fabrikam"}},
		{name: "domain prefix is not an exact match",
			filter: `{"Operator":"starts_with","Field":"Domain","Value":"contoso"}`,
			want:   []string{"Contoso Ltd", "Contoso Pharma"}},
		{name: "no match is an empty collection",
			filter: `{"Field":"Domain","Value":"northwind","Operator":"starts_with"}`,
			want:   []string{}},
		{name: "equals is not supported",
			filter: `{"Field":"Domain","Value":"contoso.onmicrosoft.com","Operator":"equals"}`, status: 400},
		{name: "other fields are rejected",
			filter: `{"Field":"IndirectReseller","Value":"x","Operator":"starts_with"}`, status: 400},
		{name: "missing operator", filter: `{"Field":"Domain","Value":"x"}`, status: 400},
		{name: "not JSON", filter: `Field=Domain`, status: 400},
	}
	s := newFake(t)
	seedCustomers(s)
	at := accessToken(t, s)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := tt.encode
			if enc == nil {
				enc = url.QueryEscape
			}
			r := pc(t, s, at, http.MethodGet, "/v1/customers?size=0&filter="+enc(tt.filter), "")
			if tt.status != 0 {
				wantFault(t, r, tt.status, "800002")
				return
			}
			if r.status != http.StatusOK {
				t.Fatalf("status %d", r.status)
			}
			m := r.json(t)
			items, _ := m["items"].([]any)
			got := []string{}
			for _, it := range items {
				got = append(got, get(it, "companyProfile", "companyName").(string))
				if _, ok := it.(map[string]any)["allowDelegatedAccess"]; ok {
					t.Error("a list item carries allowDelegatedAccess")
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if get(m, "totalCount").(interface{ String() string }).String() != itoa(len(tt.want)) {
				t.Errorf("totalCount = %v, want %d", m["totalCount"], len(tt.want))
			}
			if get(m, "attributes", "objectType") != "Collection" {
				t.Error("collection objectType missing")
			}
			if u, _ := get(m, "links", "self", "uri").(string); !strings.HasPrefix(u, "/customers?") {
				t.Errorf("links.self.uri = %q, want relative without /v1", u)
			}
		})
	}
	if !strings.Contains(s.Calls()[0].RawQuery, "+") {
		t.Error("the first case did not actually send a +")
	}
}
