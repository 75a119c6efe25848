package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/locksmithbot/locksmith/internal/dbtest"
	"github.com/locksmithbot/locksmith/internal/fakepartner"
)

// Issue #8: what locksmith says must not say more than it should.

// openDSN opens the database behind a harness as an operator would.
func openDSN(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres") {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	return rawDB(t, dsn)
}

// rowsContaining lists "table: row" for every row of every table whose text
// contains s.
func rowsContaining(t *testing.T, dsn, s string) []string {
	t.Helper()
	db := openDSN(t, dsn)
	list := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if strings.HasPrefix(dsn, "postgres") {
		list = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`
	}
	tables, err := db.Query(list)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	var hits []string
	for _, n := range names {
		rows, err := db.Query(`SELECT * FROM ` + n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			line := fmt.Sprintf("%s", vals)
			if strings.Contains(line, s) {
				hits = append(hits, n+": "+line)
			}
		}
		rows.Close()
	}
	return hits
}

// echoingFault makes the next PATCH fail with 400 and a description that holds
// a marker and the password it was sent: as sent, JSON-escaped as Slack writes
// JSON, and truncated.
func echoingFault(marker string) fakepartner.Fault {
	return fakepartner.Fault{Method: "PATCH", Status: 400, Code: 1001, Times: 1, DescriptionFrom: func(body []byte) string {
		var req struct {
			PasswordProfile struct {
				Password string `json:"password"`
			} `json:"passwordProfile"`
		}
		_ = json.Unmarshal(body, &req)
		pw := req.PasswordProfile.Password
		b, _ := json.Marshal(pw)
		esc := strings.ReplaceAll(string(b[1:len(b)-1]), "/", `\/`)
		return fmt.Sprintf("%s <!channel> password %s (%s) rejected; starts %s", marker, pw, esc, pw[:len(pw)-5])
	}}
}

// Partner Center's error description reaches the log only: the approval card,
// DMs, replies, audit rows and the audit channel carry locksmith's own
// classification and the correlation ID.
func TestE2E_PartnerCenterWordsOnlyInTheLog(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, dsn string) {
		for _, approval := range []bool{true, false} {
			t.Run(fmt.Sprintf("approval=%t", approval), func(t *testing.T) {
				const marker = "PCMARK-5e1f"
				h := newHarness(t, harnessOptions{approval: approval, dsn: dsn})
				h.pc.AddFault(echoingFault(marker))
				h.start()
				var reply string
				if approval {
					card := h.request(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-9")
					h.click(bob, card, actApprove)
					reply = h.click(alice, h.dmWithButton(alice, actReset), actReset)
				} else {
					reply = h.slash(alice, "contoso.onmicrosoft.com "+plainUPN+" INC-9")
				}
				if !strings.Contains(reply, "*not* reset") || !strings.Contains(reply, "HTTP 400") {
					t.Fatalf("reply = %q", reply)
				}
				h.waitFor("reset_failed in the audit channel", func() bool {
					for _, m := range h.slack.Messages(auditChannel) {
						if strings.Contains(m.Text, "reset_failed") {
							return true
						}
					}
					return false
				})
				if err := h.stop(); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(h.logs.String(), marker) {
					t.Error("Partner Center's description is not in the log either; the test proves nothing")
				}
				for _, c := range h.slack.Calls() {
					if formContains(c.Form, marker) || strings.Contains(string(c.JSON), marker) {
						t.Errorf("Partner Center's description reached Slack in %s", c.Method)
					}
				}
				if strings.Contains(string(h.slack.Traffic()), marker) {
					t.Error("Partner Center's description is in the Slack traffic")
				}
				for _, p := range h.slack.ResponseURLPosts() {
					if strings.Contains(string(p.Body), marker) {
						t.Error("Partner Center's description reached a reply")
					}
				}
				if hits := rowsContaining(t, dsn, marker); len(hits) > 0 {
					t.Errorf("Partner Center's description is in the database: %q", hits)
				}
				if n := len(h.pc.Resets()); n != 0 {
					t.Fatalf("%d resets recorded by the fake after a 400", n)
				}
				logs := h.logs.String()
				for _, c := range h.pc.Calls() {
					if c.Method != "PATCH" {
						continue
					}
					var req struct {
						PasswordProfile struct {
							Password string `json:"password"`
						} `json:"passwordProfile"`
					}
					_ = json.Unmarshal(c.Body, &req)
					p := req.PasswordProfile.Password
					if p == "" {
						t.Fatal("the fake did not record the PATCH body")
					}
					for i := 0; i+6 <= len(p); i++ {
						if strings.Contains(logs, p[i:i+6]) {
							t.Fatalf("the log holds part of the password")
						}
					}
				}
			})
		}
	})
}

// A technician granted some customers learns nothing about the others: a
// prefix lists only granted customers, and a customer outside the grants gets
// the answer a customer that does not exist gets, byte for byte.
func TestE2E_CustomersOutsideTheGrantAreNotDisclosed(t *testing.T) {
	const (
		secretTenant = "c0000000-0000-4000-8000-0000000000aa"
		secretDomain = "contososecret.onmicrosoft.com"
		secretName   = "Contoso Secret"
	)
	h := newHarness(t, harnessOptions{approval: true})
	h.pc.AddCustomer(fakepartner.Customer{TenantID: secretTenant, Name: secretName, Domain: secretDomain, Relationship: "reseller"})
	// Dave may reset in Contoso and Contoso Ltd only; Bob in everything.
	policy := strings.Replace(policyTemplate, `  - slack_users: [U0DAVE]
    roles: ["User Administrator"]
    customers: ["fabrikam.onmicrosoft.com"]`, `  - slack_users: [U0DAVE]
    roles: ["User Administrator"]
    customers: ["contoso.onmicrosoft.com", "`+contosoLtd+`"]`, 1)
	if policy == policyTemplate {
		t.Fatal("the harness policy changed; update this test")
	}
	if err := os.WriteFile(h.env["LOCKSMITH_CONFIG"], []byte(fmt.Sprintf(policy, true)), 0o600); err != nil {
		t.Fatal(err)
	}
	h.start()

	// Someone with every customer sees all three; the test's data is sound.
	if r := h.slash(bob, "Contoso "+plainUPN); !strings.Contains(r, "matches 3 customers") || !strings.Contains(r, secretName) {
		t.Fatalf("unrestricted prefix reply = %q", r)
	}

	reply := h.slash(dave, "Contoso "+plainUPN)
	if !strings.Contains(reply, "matches 2 customers") || !strings.Contains(reply, contosoTenant) || !strings.Contains(reply, contosoLtd) {
		t.Errorf("prefix reply = %q, want the two granted customers", reply)
	}
	for _, leak := range []string{"Secret", secretTenant, secretDomain} {
		if strings.Contains(reply, leak) {
			t.Errorf("prefix reply discloses %q: %q", leak, reply)
		}
	}

	for name, ref := range map[string]string{"name": `"` + secretName + `"`, "domain": secretDomain, "tenant ID": secretTenant} {
		t.Run("single match by "+name, func(t *testing.T) {
			defer h.use(t)()
			got := h.slash(dave, ref+" "+plainUPN)
			// The same command for a customer that does not exist, in the same shape.
			nowhere := map[string]string{"name": `"Nowhere Inc"`, "domain": "nowhere.onmicrosoft.com", "tenant ID": "c0000000-0000-4000-8000-0000000000ff"}[name]
			want := strings.Replace(h.slash(dave, nowhere+" "+plainUPN), strings.Trim(nowhere, `"`), strings.Trim(ref, `"`), 1)
			if got != want {
				t.Errorf("reply = %q\nwant the not-found answer %q", got, want)
			}
		})
	}
	if h.patches() != 0 || len(h.slack.Messages(approvalsChannel)) != 0 {
		t.Error("a refused request changed something")
	}
}
