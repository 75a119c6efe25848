package main

import (
	"strings"
	"testing"
	"time"

	"github.com/locksmithbot/locksmith/commands"
)

func TestLoadConfig_GraphDefaultsLeaveOldConfigsAlone(t *testing.T) {
	env := goodEnv(writePolicy(t, goodPolicy))
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Policy.Graph
	if g.Enabled || g.WhenUnavailable != commands.RequirePrivileged || g.TAPLifetime != time.Hour || !g.TAPUsableOnce {
		t.Fatalf("graph defaults: %+v", g)
	}
	if cfg.Policy.Grants[0].Actions != nil || cfg.GraphURL != "https://graph.microsoft.com" {
		t.Fatalf("actions %v, GRAPH_URL %q", cfg.Policy.Grants[0].Actions, cfg.GraphURL)
	}
}

func TestLoadConfig_GraphKeys(t *testing.T) {
	good := goodPolicy + `    actions: [reset_password, temporary_access_pass, revoke_sessions, enable_account]
graph:
  enabled: true
  when_unavailable: refuse
  temporary_access_pass:
    lifetime: 90m
    usable_once: false
`
	env := goodEnv(writePolicy(t, good))
	env["GRAPH_URL"] = "https://graph.microsoft.us"
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.Policy.Graph
	if !g.Enabled || g.WhenUnavailable != commands.RefuseUnknown || g.TAPLifetime != 90*time.Minute || g.TAPUsableOnce {
		t.Fatalf("graph: %+v", g)
	}
	if len(cfg.Policy.Grants[0].Actions) != 4 || cfg.GraphURL != "https://graph.microsoft.us" {
		t.Fatalf("actions %v", cfg.Policy.Grants[0].Actions)
	}

	bad := goodPolicy + `    actions: [temporary_access_pass, teleport]
graph:
  when_unavailable: maybe
  temporary_access_pass:
    lifetime: 5m
`
	env = goodEnv(writePolicy(t, bad))
	_, err = loadConfig(func(k string) string { return env[k] })
	for _, want := range []string{"graph.when_unavailable", "graph.temporary_access_pass.lifetime", "actions[0]: temporary_access_pass runs through Microsoft Graph", `actions[1]: "teleport"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %q", err, want)
		}
	}
}
