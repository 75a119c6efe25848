package fakepartner

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Application consent (control-panel-vendor API): POST
// /v1/customers/{id}/applicationconsents registers an app in a customer
// tenant with delegated grants. A second consent for the same app answers 409.

// Consent is one consent the fake created.
type Consent struct {
	TenantID, ApplicationID, DisplayName string
	Grants                               []ConsentGrant
	RequestID                            string // MS-RequestId of the creating call
}

// ConsentGrant is one applicationGrants entry as sent.
type ConsentGrant struct {
	EnterpriseApplicationID string `json:"enterpriseApplicationId"`
	Scope                   string `json:"scope"`
}

// Consents returns every consent created so far, in order.
func (s *Server) Consents() []Consent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Consent(nil), s.consents...)
}

// OnConsent registers f to be called (outside the lock) after each consent is
// created; tests use it to mark the tenant consented in a fake Graph.
func (s *Server) OnConsent(f func(Consent)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onConsent = f
}

// RefreshTokenValid reports whether rt is a refresh token of the partner chain
// that the token endpoint would accept now, so a fake of another Entra-backed
// service can honour the same chain.
func (s *Server) RefreshTokenValid(rt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.refreshTokens[rt]
	return ok && st.revokedCode == 0
}

// RefreshTokenPublic reports whether rt was issued to a public client (a
// device-code sign-in): Entra then refuses a client secret with it anywhere.
func (s *Server) RefreshTokenPublic(rt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.refreshTokens[rt]
	return ok && st.public
}

func (s *Server) addConsent(w http.ResponseWriter, r *http.Request, body []byte, rt route) {
	var in struct {
		ApplicationID     string         `json:"applicationId"`
		DisplayName       string         `json:"displayName"`
		ApplicationGrants []ConsentGrant `json:"applicationGrants"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.ApplicationID == "" || len(in.ApplicationGrants) == 0 {
		writeFault(w, http.StatusBadRequest, "800002", "Invalid request input: applicationId and applicationGrants are required.")
		return
	}
	for _, g := range in.ApplicationGrants {
		if g.EnterpriseApplicationID == "" || g.Scope == "" || strings.Contains(g.Scope, " ") {
			writeFault(w, http.StatusBadRequest, "800002", "Invalid request input: each grant needs enterpriseApplicationId and a comma-separated scope.")
			return
		}
	}
	s.mu.Lock()
	c, status, fault := s.customerLocked(rt.cid)
	if c == nil {
		s.mu.Unlock()
		writeJSON(w, status, fault)
		return
	}
	for _, have := range s.consents {
		if strings.EqualFold(have.TenantID, c.TenantID) && strings.EqualFold(have.ApplicationID, in.ApplicationID) {
			s.mu.Unlock()
			writeFault(w, http.StatusConflict, "600041", "Application consent already exists for this application.")
			return
		}
	}
	made := Consent{TenantID: c.TenantID, ApplicationID: in.ApplicationID, DisplayName: in.DisplayName,
		Grants: in.ApplicationGrants, RequestID: r.Header.Get("MS-RequestId")}
	s.consents = append(s.consents, made)
	hook := s.onConsent
	s.mu.Unlock()
	if hook != nil {
		hook(made)
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"applicationId": in.ApplicationID, "displayName": in.DisplayName,
		"applicationGrants": in.ApplicationGrants,
	})
}
