package fakepartner

import (
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// User is a seeded customer user. ObjectID and UPN are required. State is
// "active" (the default) or "inactive" (soft-deleted). A non-nil
// LastDirectorySyncTime marks a user synced from on-premises AD.
type User struct {
	ObjectID, UPN, FirstName, LastName, DisplayName string
	Roles                                           []Role
	LastDirectorySyncTime                           *time.Time
	State                                           string
	// DomainType is userDomainType: "none" (default), "managed" or "federated".
	DomainType string
	// UsageLocation is a country code such as "US"; "" leaves it out, as Partner
	// Center does for users without one.
	UsageLocation string
}

type tenantUsers struct {
	order []string // lower-case object IDs, in the order added
	byID  map[string]*User
}

// continuation is what a users-paging token stands for.
type continuation struct {
	tenant  string // lower-case tenant ID
	offset  int
	size    int
	expires time.Time
}

// replay is the first response to a PATCH, kept by MS-RequestId (§2.1).
type replay struct {
	status int
	body   []byte
}

// AddUser seeds (or replaces) a user of a customer added with AddCustomer. Role
// names are filled from the legacy-name table (see Role).
func (s *Server) AddUser(tenantID string, u User) {
	if u.ObjectID == "" || u.UPN == "" {
		panic("fakepartner: AddUser needs ObjectID and UPN")
	}
	if u.State == "" {
		u.State = "active"
	}
	if u.DomainType == "" {
		u.DomainType = "none"
	}
	roles := make([]Role, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = resolveRole(r)
	}
	u.Roles = roles
	if u.LastDirectorySyncTime != nil {
		t := *u.LastDirectorySyncTime
		u.LastDirectorySyncTime = &t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tu, ok := s.users[strings.ToLower(tenantID)]
	if !ok {
		panic("fakepartner: AddUser for a tenant not added with AddCustomer")
	}
	key := strings.ToLower(u.ObjectID)
	if _, ok := tu.byID[key]; !ok {
		tu.order = append(tu.order, key)
	}
	tu.byID[key] = &u
}

// ExpireContinuationTokens invalidates every users-paging token handed out so far,
// so the next seek with one answers 400.
func (s *Server) ExpireContinuationTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.continuations)
}

func userJSON(tenantID string, u *User) customerUserJSON {
	out := customerUserJSON{
		UsageLocation: u.UsageLocation, ID: u.ObjectID, UserPrincipalName: u.UPN,
		FirstName: u.FirstName, LastName: u.LastName, DisplayName: u.DisplayName,
		UserDomainType: u.DomainType, State: u.State,
		Links:      selfLinks{Self: link{URI: "/customers/" + tenantID + "/users/" + u.ObjectID, Method: http.MethodGet, Headers: []linkHeader{}}},
		Attributes: attributes{ObjectType: "CustomerUser"},
	}
	if u.LastDirectorySyncTime != nil {
		t := pcTime(*u.LastDirectorySyncTime)
		out.LastDirectorySyncTime = &t
	}
	return out
}

// userLocked finds the customer and user a route names, or the error to answer
// (404 60002 for an unknown user). s.mu must be held.
func (s *Server) userLocked(cid, uid string) (*customerRecord, *User, int, apiFault) {
	c, status, fault := s.customerLocked(cid)
	if c == nil {
		return nil, nil, status, fault
	}
	u, ok := s.users[strings.ToLower(cid)].byID[strings.ToLower(uid)]
	if !ok {
		return nil, nil, http.StatusNotFound, faultBody(60002, "User object ID is not found")
	}
	return c, u, 0, apiFault{}
}

// getUser serves GET /v1/customers/{cid}/users/{uid}. A UPN in place of the ID is
// not documented, so it is simply a user that is not found.
func (s *Server) getUser(w http.ResponseWriter, _ *http.Request, _ []byte, rt route) {
	s.mu.Lock()
	c, u, status, fault := s.userLocked(rt.cid, rt.uid)
	bom := s.bomOnGetUser
	var body customerUserJSON
	if u != nil {
		body = userJSON(c.TenantID, u)
	}
	s.mu.Unlock()
	if u == nil {
		writeJSON(w, status, fault)
		return
	}
	b := mustMarshal(body)
	if bom {
		b = append([]byte("\uFEFF"), b...)
	}
	writeRaw(w, http.StatusOK, "application/json; charset=utf-8", b)
}

// userRoles serves GET /v1/customers/{cid}/users/{uid}/directoryroles: role
// template IDs with Partner Center's (legacy) names, no links (§5).
func (s *Server) userRoles(w http.ResponseWriter, _ *http.Request, _ []byte, rt route) {
	s.mu.Lock()
	_, u, status, fault := s.userLocked(rt.cid, rt.uid)
	var items []directoryRoleJSON
	if u != nil {
		for _, r := range u.Roles {
			items = append(items, directoryRoleJSON{Name: r.Name, ID: r.TemplateID, Attributes: attributes{ObjectType: "DirectoryRole"}})
		}
	}
	s.mu.Unlock()
	if u == nil {
		writeJSON(w, status, fault)
		return
	}
	writeJSON(w, http.StatusOK, newCollection(items))
}

// listUsers serves GET /v1/customers/{cid}/users and its seek form
// ?seekOperation=Next with the MS-ContinuationToken header (§4.2). Every page
// carries a top-level continuationToken, "" on the last page, and links.next only
// while more pages follow.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, _ []byte, rt route) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, status, fault := s.customerLocked(rt.cid)
	if c == nil {
		writeJSON(w, status, fault)
		return
	}
	tenant := strings.ToLower(rt.cid)
	offset, size := 0, s.pageSize
	switch seek := q.Get("seekOperation"); {
	case seek == "":
		if sz := q.Get("size"); sz != "" {
			n, err := strconv.Atoi(sz)
			if err != nil || n < 1 {
				writeFault(w, http.StatusBadRequest, "800002", "Invalid request input: size must be a positive integer.")
				return
			}
			size = n
		}
	case strings.EqualFold(seek, "Next"):
		tok := r.Header.Get("MS-ContinuationToken")
		cont, ok := s.continuations[tok]
		if tok == "" || !ok || cont.tenant != tenant || !time.Now().Before(cont.expires) {
			writeFault(w, http.StatusBadRequest, "800002", "Invalid request input: the continuation token is missing, invalid or expired.")
			return
		}
		offset, size = cont.offset, cont.size
	default:
		writeFault(w, http.StatusBadRequest, "800002", "Invalid request input: unsupported seekOperation.")
		return
	}

	tu := s.users[tenant]
	end := min(offset+size, len(tu.order))
	offset = min(offset, end)
	var items []customerUserJSON
	for _, id := range tu.order[offset:end] {
		items = append(items, userJSON(c.TenantID, tu.byID[id]))
	}
	coll := newCollection(items)
	self := "/customers/" + c.TenantID + "/users"
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	coll.Links = &collectionLinks{Self: link{URI: self, Method: http.MethodGet, Headers: []linkHeader{}}}
	next := ""
	if end < len(tu.order) {
		next = randomToken("ct-")
		s.continuations[next] = continuation{tenant: tenant, offset: end, size: size, expires: time.Now().Add(continuationTTL)}
		coll.Links.Next = &link{
			URI:     "/customers/" + c.TenantID + "/users?seekOperation=Next",
			Method:  http.MethodGet,
			Headers: []linkHeader{{Key: "MS-ContinuationToken", Value: next}},
		}
	}
	coll.ContinuationToken = &next
	writeJSON(w, http.StatusOK, coll)
}

// resetPassword serves PATCH …/users/{uid}/resetpassword and the legacy
// PATCH …/users/{uid}, which take the same body (§6). A PATCH repeating an
// MS-RequestId already seen gets the first response again, and no second reset.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, body []byte, rt route) {
	reqID := r.Header.Get("MS-RequestId")
	s.mu.Lock()
	rep, seen := s.replays[reqID]
	if !seen { // an empty MS-RequestId is never stored, so it never replays
		rep.status, rep.body = s.resetLocked(r, body, rt)
		if reqID != "" {
			s.replays[reqID] = rep
		}
	}
	s.mu.Unlock()
	writeRaw(w, rep.status, "application/json; charset=utf-8", rep.body)
}

// resetLocked validates and applies one reset. s.mu must be held.
func (s *Server) resetLocked(r *http.Request, body []byte, rt route) (int, []byte) {
	c, u, status, fault := s.userLocked(rt.cid, rt.uid)
	if u == nil {
		return status, mustMarshal(fault)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return http.StatusUnsupportedMediaType, mustMarshal(faultBody("800002", "Invalid request input: Content-Type must be application/json."))
	}
	password, force, problem := parseReset(body)
	if problem == "" {
		problem = passwordProblem(password)
	}
	if problem != "" {
		return http.StatusBadRequest, mustMarshal(faultBody("800002", "Invalid request input: "+problem))
	}
	s.resets = append(s.resets, Reset{
		TenantID: c.TenantID, UserID: u.ObjectID, Password: password, ForceChange: force,
		RequestID: r.Header.Get("MS-RequestId"), CorrelationID: r.Header.Get("MS-CorrelationId"), Path: r.URL.Path,
	})
	out := userJSON(c.TenantID, u)
	// The real API echoes the new password in clear. Its echoed forceChangePassword
	// is false even when true was sent (the docs' example), so clients must not
	// trust it; the fake does the same.
	out.PasswordProfile = &passwordProfileJSON{ForceChangePassword: false, Password: password}
	return http.StatusOK, mustMarshal(out)
}

// parseReset reads passwordProfile.password and .forceChangePassword, binding
// keys case-insensitively so both the docs' camelCase and the SDK's PascalCase
// bodies work (§2.2). The problem text never contains the password.
func parseReset(body []byte) (password string, force bool, problem string) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return "", false, "the body is not a JSON object."
	}
	rawPP, _ := lookupFold(obj, "passwordProfile")
	var pp map[string]json.RawMessage
	if len(rawPP) == 0 || json.Unmarshal(rawPP, &pp) != nil || pp == nil {
		return "", false, "passwordProfile is required."
	}
	rawPW, _ := lookupFold(pp, "password")
	if len(rawPW) == 0 || json.Unmarshal(rawPW, &password) != nil || password == "" {
		return "", false, "passwordProfile.password is required."
	}
	if rawFC, ok := lookupFold(pp, "forceChangePassword"); ok {
		if json.Unmarshal(rawFC, &force) != nil {
			return "", false, "passwordProfile.forceChangePassword must be a boolean."
		}
	}
	return password, force, ""
}
