package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/graph"
	"github.com/locksmithbot/locksmith/internal/fakepartner"
)

func TestConsent_SendsExactlyThePermissions_IsIdempotent_Audited(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: true})
	fg := withGraph(t, h, "")
	fg.AddTenant(contosoTenant).SetConsented(false)
	h.pc.OnConsent(func(c fakepartner.Consent) { fg.AddTenant(c.TenantID).SetConsented(true) })
	consent := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"consent"}, args...), h.getenv, &out, &errOut)
		return code, out.String() + errOut.String()
	}

	code, out := consent("--dry-run", "contoso.onmicrosoft.com")
	if code != 0 || !strings.Contains(out, "locksmith consent "+contosoTenant) || len(h.pc.Consents()) != 0 {
		t.Fatalf("dry run: exit %d, consents %d:\n%s", code, len(h.pc.Consents()), out)
	}
	if code, out = consent(contosoTenant); code != 0 || !strings.Contains(out, "consented") {
		t.Fatalf("consent: exit %d:\n%s", code, out)
	}
	got := h.pc.Consents()
	if len(got) != 1 || got[0].ApplicationID != fakepartner.ClientID || len(got[0].Grants) != 1 ||
		got[0].Grants[0].EnterpriseApplicationID != "00000003-0000-0000-c000-000000000000" ||
		got[0].Grants[0].Scope != "User.Read.All,RoleManagement.Read.Directory,AdministrativeUnit.Read.All,User.RevokeSessions.All,User.EnableDisableAccount.All,UserAuthenticationMethod.ReadWrite.All" {
		t.Fatalf("consents = %+v", got)
	}
	if got[0].Grants[0].Scope != graph.ConsentScope() {
		t.Fatal("the scope sent is not graph.Permissions")
	}
	if code, out = consent(contosoTenant); code != 0 || !strings.Contains(out, "already consented") || len(h.pc.Consents()) != 1 {
		t.Fatalf("second consent: exit %d, consents %d:\n%s", code, len(h.pc.Consents()), out)
	}
	if code, out = consent("--all"); code != 0 || len(h.pc.Consents()) != 3 {
		t.Fatalf("--all: exit %d, consents %d:\n%s", code, len(h.pc.Consents()), out)
	}
	if code, out = consent("--dry-run", contosoTenant); code != 0 || !strings.Contains(out, "consent is in place") {
		t.Fatalf("dry run after consent: exit %d:\n%s", code, out)
	}
	if code, out = consent("--all", contosoTenant); code != exitUsage {
		t.Fatalf("--all with a customer: exit %d:\n%s", code, out)
	}

	var exp bytes.Buffer
	if code := run(context.Background(), []string{"audit", "export"}, h.getenv, &exp, &bytes.Buffer{}); code != 0 {
		t.Fatal("audit export failed")
	}
	if n := strings.Count(exp.String(), `"outcome":"consent_granted"`); n != 5 {
		t.Fatalf("consent_granted rows = %d, want 5 (1 + 1 existing + 3 from --all):\n%s", n, exp.String())
	}
}

func TestConsent_FailureAuditedWithoutPartnerCentersText(t *testing.T) {
	h := newHarness(t, harnessOptions{approval: true})
	withGraph(t, h, "")
	h.pc.AddFault(fakepartner.Fault{PathContains: "applicationconsents", Status: 403, Description: "Echo: secret-looking-text"})
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"consent", contosoTenant}, h.getenv, &out, &errOut); code != exitFailed {
		t.Fatalf("exit %d:\n%s%s", code, out.String(), errOut.String())
	}
	var exp bytes.Buffer
	run(context.Background(), []string{"audit", "export"}, h.getenv, &exp, &bytes.Buffer{})
	if !strings.Contains(exp.String(), `"outcome":"consent_failed"`) || strings.Contains(exp.String(), "secret-looking-text") {
		t.Fatalf("audit:\n%s", exp.String())
	}
}
