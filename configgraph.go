package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/locksmithbot/locksmith/commands"
)

// graphFileConfig is locksmith.yaml's graph section.
type graphFileConfig struct {
	Enabled             bool   `yaml:"enabled"`
	WhenUnavailable     string `yaml:"when_unavailable"`
	TemporaryAccessPass struct {
		Lifetime   string `yaml:"lifetime"`
		UsableOnce *bool  `yaml:"usable_once"`
	} `yaml:"temporary_access_pass"`
}

// The tenant policy bounds a Temporary Access Pass's lifetime to 10 minutes
// through 30 days.
const (
	minTAPLifetime = 10 * time.Minute
	maxTAPLifetime = 30 * 24 * time.Hour
)

func readGraphPolicy(f graphFileConfig, add func(string, ...any)) commands.GraphPolicy {
	g := commands.GraphPolicy{Enabled: f.Enabled, WhenUnavailable: commands.RequirePrivileged,
		TAPLifetime: time.Hour, TAPUsableOnce: true}
	switch commands.WhenUnavailable(f.WhenUnavailable) {
	case "":
	case commands.RequirePrivileged, commands.RefuseUnknown:
		g.WhenUnavailable = commands.WhenUnavailable(f.WhenUnavailable)
	default:
		add("graph.when_unavailable: %q is not %q or %q", f.WhenUnavailable, commands.RequirePrivileged, commands.RefuseUnknown)
	}
	if v := f.TemporaryAccessPass.Lifetime; v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			add("graph.temporary_access_pass.lifetime: %q is not a duration (e.g. 1h)", v)
		case d < minTAPLifetime || d > maxTAPLifetime || d%time.Minute != 0:
			add("graph.temporary_access_pass.lifetime: %s is out of range (whole minutes, 10m to 720h)", v)
		default:
			g.TAPLifetime = d
		}
	}
	if f.TemporaryAccessPass.UsableOnce != nil {
		g.TAPUsableOnce = *f.TemporaryAccessPass.UsableOnce
	}
	return g
}

// readActions reads grants[i].actions. Omitted means only the password reset,
// the meaning every grant had before recipes existed.
func readActions(key string, raw []string, graphEnabled bool, add func(string, ...any)) []commands.Recipe {
	if raw == nil {
		return nil
	}
	if len(raw) == 0 {
		add("%s.actions: empty; omit it for only the password reset, or list some of %s", key, recipeNames())
		return nil
	}
	var out []commands.Recipe
	for j, a := range raw {
		r := commands.Recipe(strings.ToLower(strings.TrimSpace(a)))
		switch {
		case !slices.Contains(commands.Recipes, r):
			add("%s.actions[%d]: %q is not one of %s", key, j, a, recipeNames())
		case r.NeedsGraph() && !graphEnabled:
			add("%s.actions[%d]: %s runs through Microsoft Graph; set graph.enabled: true (and run `locksmith consent`)", key, j, r)
		default:
			out = append(out, r)
		}
	}
	return out
}

func recipeNames() string {
	s := make([]string, len(commands.Recipes))
	for i, r := range commands.Recipes {
		s[i] = string(r)
	}
	return fmt.Sprintf("[%s]", strings.Join(s, ", "))
}
