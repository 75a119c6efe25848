package partner

import (
	"context"
	"encoding/json"
	"testing"
)

func TestAddApplicationConsent_SendsGrantsAndIsIdempotent(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	grants := []ApplicationGrant{{EnterpriseApplicationID: "00000003-0000-0000-c000-000000000000", Scope: "User.Read.All,User.RevokeSessions.All"}}
	res, err := h.c.AddApplicationConsent(ctx, tenantA, "app-1", "locksmith", grants)
	if err != nil || res != ConsentCreated {
		t.Fatalf("first consent: %v, %v", res, err)
	}
	res, err = h.c.AddApplicationConsent(ctx, tenantA, "app-1", "locksmith", grants)
	if err != nil || res != ConsentExisted {
		t.Fatalf("second consent: %v, %v; want existed, no error", res, err)
	}
	got := h.fake.Consents()
	if len(got) != 1 || got[0].TenantID != tenantA || got[0].ApplicationID != "app-1" ||
		len(got[0].Grants) != 1 || got[0].Grants[0].Scope != grants[0].Scope || got[0].Grants[0].EnterpriseApplicationID != grants[0].EnterpriseApplicationID {
		t.Fatalf("consents = %+v", got)
	}
	var body map[string]json.RawMessage
	for _, c := range h.fake.Calls() {
		if c.Method == "POST" {
			_ = json.Unmarshal(c.Body, &body)
			if c.Header.Get("Accept") != "application/json" || c.Header.Get("MS-RequestId") == "" {
				t.Errorf("headers = %v", c.Header)
			}
		}
	}
	if _, ok := body["applicationGrants"]; !ok {
		t.Errorf("body = %s", body)
	}
	_, err = h.c.AddApplicationConsent(ctx, tenantGone, "app-1", "locksmith", grants)
	h.wantKind(err, KindForbidden)
}

func TestAllCustomers_ListsEveryRelationship(t *testing.T) {
	h := newHarness(t)
	all, err := h.c.AllCustomers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("customers = %+v, want the 3 with a relationship", all)
	}
}

func TestCurrentRefreshToken_IsTheChainsNewest(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	before, _ := h.c.CurrentRefreshToken(ctx)
	if !h.fake.RefreshTokenValid(before.Token.Reveal()) {
		t.Fatal("the initial token is not valid at the fake")
	}
	if err := h.c.RefreshNow(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := h.c.CurrentRefreshToken(ctx)
	if after.Token.Reveal() == before.Token.Reveal() {
		t.Fatal("CurrentRefreshToken did not follow the rotation")
	}
}
