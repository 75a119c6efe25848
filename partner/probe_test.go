package partner

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
)

func TestTokenIdentity(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tok := enc(`{"alg":"RS256"}`) + "." + enc(`{"name":"Svc","upn":"svc@p.onmicrosoft.com","tid":"t1","amr":["pwd","mfa"]}`) + ".sig"
	id, err := TokenIdentity(tok)
	want := Identity{Name: "Svc", Username: "svc@p.onmicrosoft.com", TenantID: "t1", MFA: true, AMR: []string{"pwd", "mfa"}}
	if err != nil || !reflect.DeepEqual(id, want) {
		t.Fatalf("TokenIdentity = %+v, %v", id, err)
	}
	tok = enc(`{}`) + "." + enc(`{"preferred_username":"a@b","tid":"t2","amr":["pwd"]}`) + ".sig"
	if id, _ := TokenIdentity(tok); id.Username != "a@b" || id.MFA {
		t.Fatalf("v2 claims without MFA = %+v", id)
	}
	for _, bad := range []string{"opaque-secret-token", "a.!!!.c", "a." + enc("not json") + ".c"} {
		_, err := TokenIdentity(bad)
		if err == nil {
			t.Errorf("TokenIdentity(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), bad) {
			t.Errorf("error echoes the token: %v", err)
		}
	}
}
