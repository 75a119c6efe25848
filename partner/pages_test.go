package partner

import (
	"testing"

	"github.com/locksmithbot/locksmith/internal/secret"
)

func TestLinkTarget(t *testing.T) {
	c, err := New(Config{BaseURL: "https://pc.example.com", TenantID: "t", ClientID: "c",
		ClientSecret: secret.NewToken("s"), RefreshToken: secret.NewToken("r")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, uri, wantPath, wantQuery string
		wantErr                        bool
	}{
		{"relative without /v1", "/customers/x/users?seekOperation=Next", "/v1/customers/x/users", "seekOperation=Next", false},
		{"relative with /v1", "/v1/customers/x/users?size=2", "/v1/customers/x/users", "size=2", false},
		{"no leading slash", "customers/x/users", "/v1/customers/x/users", "", false},
		{"absolute on the same host", "https://pc.example.com/v1/customers?a=b", "/v1/customers", "a=b", false},
		{"absolute elsewhere is refused", "https://evil.example.net/v1/customers", "", "", true},
		{"protocol-relative elsewhere is refused", "//evil.example.net/customers", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, query, err := c.linkTarget(tt.uri)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && (path != tt.wantPath || query != tt.wantQuery) {
				t.Errorf("linkTarget(%q) = (%q, %q), want (%q, %q)", tt.uri, path, query, tt.wantPath, tt.wantQuery)
			}
		})
	}
}

func TestNew_Validates(t *testing.T) {
	ok := Config{TenantID: "t", ClientID: "c", ClientSecret: secret.NewToken("s"), RefreshToken: secret.NewToken("r")}
	tests := []struct {
		name   string
		mutate func(*Config)
		field  string // "" = valid
	}{
		{"valid", func(*Config) {}, ""},
		{"store instead of refresh token", func(c *Config) { c.RefreshToken = secret.Token{}; c.Tokens = NewMemoryTokenStore() }, ""},
		{"missing tenant", func(c *Config) { c.TenantID = "" }, "TenantID"},
		{"missing client ID", func(c *Config) { c.ClientID = " " }, "ClientID"},
		{"missing secret", func(c *Config) { c.ClientSecret = secret.Token{} }, "ClientSecret"},
		{"missing refresh token and store", func(c *Config) { c.RefreshToken = secret.Token{} }, "RefreshToken"},
		{"bad base URL", func(c *Config) { c.BaseURL = "ftp://x" }, "BaseURL"},
		{"relative authority", func(c *Config) { c.AuthorityHost = "login.microsoftonline.com" }, "AuthorityHost"},
		{"negative attempts", func(c *Config) { c.MaxAttempts = -1 }, "MaxAttempts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mutate(&cfg)
			_, err := New(cfg)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !contains(err.Error(), tt.field) {
				t.Errorf("New error = %v, want one naming %s", err, tt.field)
			}
		})
	}
}

func TestNew_AuthorityTrailingSlash(t *testing.T) {
	for _, host := range []string{"https://login.example.com", "https://login.example.com/"} {
		c, err := New(Config{AuthorityHost: host, TenantID: "tid", ClientID: "c",
			ClientSecret: secret.NewToken("s"), RefreshToken: secret.NewToken("r")})
		if err != nil {
			t.Fatal(err)
		}
		if want := "https://login.example.com/tid/oauth2/v2.0/token"; c.tokenURL != want {
			t.Errorf("tokenURL = %q, want %q", c.tokenURL, want)
		}
	}
}
