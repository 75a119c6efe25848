package fakegraph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("fakegraph: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes Graph's error body.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]any{
			"date": time.Now().UTC().Format(time.RFC3339), "request-id": w.Header().Get("request-id"),
			"client-request-id": r.Header.Get("client-request-id"),
		},
	}})
}

// request is a Graph request being served.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	body   []byte
	t      *tenant // the bearer token's tenant; s.mu is held while handlers run
	seg    []string
	q      url.Values
	server *Server
}

func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request, body []byte) {
	s.mu.Lock()
	idx := len(s.calls)
	s.calls = append(s.calls, Call{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()
	rec := &statusWriter{ResponseWriter: w}
	defer func() {
		s.mu.Lock()
		s.calls[idx].Status = rec.status
		s.notifyLocked()
		s.mu.Unlock()
	}()
	rec.Header().Set("request-id", newGUID())
	if id := r.Header.Get("client-request-id"); id != "" {
		rec.Header().Set("client-request-id", id)
	}
	if s.applyFault(rec, r) {
		return
	}
	seg := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(seg) < 2 || seg[0] != "v1.0" {
		s.unexpectedCall(rec, r)
		return
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	s.mu.Lock()
	defer s.mu.Unlock()
	is, ok := s.tokens[tok]
	if !strings.EqualFold(scheme, "Bearer") || !ok || time.Now().After(is.expiry) {
		writeError(rec, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
		return
	}
	s.calls[idx].Tenant = is.tenant
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(rec, r, http.StatusBadRequest, "BadRequest", "Invalid query.")
		return
	}
	rq := &request{w: rec, r: r, body: body, t: s.tenants[is.tenant], seg: seg[1:], q: q, server: s}
	if !rq.route() {
		s.unexpected = append(s.unexpected, r.Method+" "+r.URL.Path)
		writeError(rec, r, http.StatusBadRequest, "BadRequest", "Resource not found for the segment.")
	}
}

func (s *Server) unexpectedCall(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.unexpected = append(s.unexpected, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	writeError(w, r, http.StatusNotFound, "UnknownError", "")
}

// route dispatches; false means no route matched.
func (rq *request) route() bool {
	m, seg := rq.r.Method, rq.seg
	switch {
	case len(seg) == 2 && seg[0] == "users" && m == http.MethodGet:
		rq.getUser(seg[1])
	case len(seg) == 2 && seg[0] == "users" && m == http.MethodPatch:
		rq.patchUser(seg[1])
	case len(seg) == 4 && seg[0] == "users" && seg[2] == "transitiveMemberOf" && seg[3] == "microsoft.graph.group" && m == http.MethodGet:
		rq.userGroups(seg[1])
	case len(seg) == 4 && seg[0] == "users" && seg[2] == "memberOf" && seg[3] == "microsoft.graph.administrativeUnit" && m == http.MethodGet:
		rq.userUnits(seg[1])
	case len(seg) == 3 && seg[0] == "users" && seg[2] == "revokeSignInSessions" && m == http.MethodPost:
		rq.revoke(seg[1])
	case len(seg) == 4 && seg[0] == "users" && seg[2] == "authentication" && seg[3] == "temporaryAccessPassMethods" && m == http.MethodPost:
		rq.createTAP(seg[1])
	case len(seg) == 3 && seg[0] == "roleManagement" && seg[1] == "directory" && seg[2] == "roleAssignments" && m == http.MethodGet:
		rq.assignments(rq.t.active, false)
	case len(seg) == 3 && seg[0] == "roleManagement" && seg[1] == "directory" && seg[2] == "roleEligibilityScheduleInstances" && m == http.MethodGet:
		if !rq.t.pimLicensed {
			writeError(rq.w, rq.r, http.StatusForbidden, "AadPremiumLicenseRequired",
				"The tenant needs a Microsoft Entra ID P2 or Microsoft Entra ID Governance license.")
			return true
		}
		rq.assignments(rq.t.eligible, true)
	default:
		return false
	}
	return true
}

func (rq *request) notFound(id string) {
	writeError(rq.w, rq.r, http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
}

// selected applies $select: only the named properties come back. Without
// $select a user gets Graph's default set, which lacks every property a reset
// decision needs.
func (rq *request) selected(all map[string]any, defaults []string) map[string]any {
	keep := defaults
	if sel := rq.q.Get("$select"); sel != "" {
		keep = strings.Split(sel, ",")
	}
	out := map[string]any{}
	for k, v := range all {
		if k == "@odata.type" || slices.Contains(keep, k) {
			out[k] = v
		}
	}
	return out
}

var userDefaults = []string{"businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"}

func (rq *request) getUser(key string) {
	u := rq.t.findUser(key)
	if u == nil {
		rq.notFound(key)
		return
	}
	var pw any
	if !u.LastPasswordChange.IsZero() {
		pw = u.LastPasswordChange.UTC().Format(time.RFC3339)
	}
	var sync any
	if u.OnPremisesSyncEnabled != nil {
		sync = *u.OnPremisesSyncEnabled
	}
	writeJSON(rq.w, http.StatusOK, rq.selected(map[string]any{
		"id": u.ID, "displayName": u.DisplayName, "userPrincipalName": u.UserPrincipalName,
		"accountEnabled": u.AccountEnabled, "userType": u.UserType, "onPremisesSyncEnabled": sync,
		"lastPasswordChangeDateTime": pw, "businessPhones": []string{},
	}, userDefaults))
}

func (rq *request) patchUser(key string) {
	u := rq.t.findUser(key)
	if u == nil {
		rq.notFound(key)
		return
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(rq.body, &body) != nil || len(body) == 0 {
		writeError(rq.w, rq.r, http.StatusBadRequest, "BadRequest", "Empty Payload. JSON content expected.")
		return
	}
	for k, v := range body {
		if k != "accountEnabled" {
			writeError(rq.w, rq.r, http.StatusBadRequest, "Request_BadRequest", "This fake only accepts accountEnabled; got "+k)
			return
		}
		var on bool
		if json.Unmarshal(v, &on) != nil {
			writeError(rq.w, rq.r, http.StatusBadRequest, "Request_BadRequest", "accountEnabled must be a boolean")
			return
		}
		u.AccountEnabled = on
		if on {
			rq.server.enabled = append(rq.server.enabled, Recipe{Tenant: rq.t.id, UserID: u.ID, At: time.Now()})
		}
	}
	rq.w.WriteHeader(http.StatusNoContent)
}

// requireAdvanced enforces what Graph documents for OData casts on
// directory-object collections: ConsistencyLevel: eventual and $count=true.
func (rq *request) requireAdvanced() bool {
	if rq.r.Header.Get("ConsistencyLevel") != "eventual" || rq.q.Get("$count") != "true" {
		writeError(rq.w, rq.r, http.StatusBadRequest, "Request_UnsupportedQuery",
			"The requested query requires the ConsistencyLevel header set to 'eventual' and $count=true.")
		return false
	}
	return true
}

func (rq *request) userGroups(key string) {
	u := rq.t.findUser(key)
	if u == nil {
		rq.notFound(key)
		return
	}
	if !rq.requireAdvanced() {
		return
	}
	groups := rq.t.transitiveGroups(u.ID)
	items := make([]map[string]any, 0, len(groups))
	for _, g := range groups {
		items = append(items, rq.selected(map[string]any{"@odata.type": "#microsoft.graph.group", "id": g.ID,
			"displayName": g.DisplayName, "isAssignableToRole": g.IsAssignableToRole, "securityEnabled": true}, []string{"id", "displayName"}))
	}
	rq.page(items)
}

func (rq *request) userUnits(key string) {
	u := rq.t.findUser(key)
	if u == nil {
		rq.notFound(key)
		return
	}
	if !rq.requireAdvanced() {
		return
	}
	var items []map[string]any
	for _, a := range rq.t.units {
		if !slices.ContainsFunc(a.Members, func(m string) bool { return lower(m) == lower(u.ID) }) {
			continue
		}
		var restricted any = a.Restricted
		if rq.t.limitedAUInfo {
			restricted = nil
		}
		items = append(items, rq.selected(map[string]any{"@odata.type": "#microsoft.graph.administrativeUnit", "id": a.ID,
			"displayName": a.DisplayName, "isMemberManagementRestricted": restricted}, []string{"id", "displayName"}))
	}
	rq.page(items)
}

var principalEq = regexp.MustCompile(`^principalId eq '([^']*)'$`)

func (rq *request) assignments(from []Assignment, eligible bool) {
	m := principalEq.FindStringSubmatch(rq.q.Get("$filter"))
	if m == nil {
		// The fake knows only the filter locksmith documents using; anything else
		// is a client change the tests should notice.
		writeError(rq.w, rq.r, http.StatusBadRequest, "BadRequest", "Invalid filter clause: this fake supports only principalId eq '<id>'.")
		return
	}
	items := []map[string]any{}
	for i, a := range from {
		if lower(a.PrincipalID) != lower(m[1]) {
			continue
		}
		scope := a.DirectoryScopeID
		if scope == "" {
			scope = "/"
		}
		item := map[string]any{"id": fmt.Sprintf("%s-%d", a.RoleDefinitionID, i), "principalId": a.PrincipalID,
			"roleDefinitionId": a.RoleDefinitionID, "directoryScopeId": scope}
		if eligible {
			item["memberType"] = "Direct"
			item["startDateTime"] = "2026-01-01T00:00:00Z"
			item["endDateTime"] = nil
		}
		items = append(items, item)
	}
	rq.page(items)
}

// page writes one page of items, honouring $skiptoken and the page size, with
// an absolute @odata.nextLink when more remain.
func (rq *request) page(items []map[string]any) {
	slices.SortFunc(items, func(a, b map[string]any) int { return strings.Compare(fmt.Sprint(a["id"]), fmt.Sprint(b["id"])) })
	start := 0
	if tok := rq.q.Get("$skiptoken"); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "X'"))
		if err != nil || n < 0 || n > len(items) {
			writeError(rq.w, rq.r, http.StatusBadRequest, "Directory_ExpiredPageToken", "The specified page token value has expired.")
			return
		}
		start = n
	}
	end := min(start+rq.server.pageSize, len(items))
	body := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", "value": items[start:end]}
	if rq.q.Get("$count") == "true" {
		body["@odata.count"] = len(items)
	}
	if end < len(items) {
		q := url.Values{}
		for k, v := range rq.q {
			if k != "$skiptoken" {
				q[k] = v
			}
		}
		q.Set("$skiptoken", "X'"+strconv.Itoa(end))
		body["@odata.nextLink"] = rq.server.hs.URL + rq.r.URL.Path + "?" + q.Encode()
	}
	writeJSON(rq.w, http.StatusOK, body)
}

func (rq *request) revoke(key string) {
	u := rq.t.findUser(key)
	if u == nil {
		rq.notFound(key)
		return
	}
	rq.server.revoked = append(rq.server.revoked, Recipe{Tenant: rq.t.id, UserID: u.ID, At: time.Now()})
	writeJSON(rq.w, http.StatusOK, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": true})
}

func (rq *request) createTAP(key string) {
	u := rq.t.findUser(key)
	if u == nil {
		rq.notFound(key)
		return
	}
	var body struct {
		StartDateTime     *time.Time `json:"startDateTime"`
		LifetimeInMinutes *int       `json:"lifetimeInMinutes"`
		IsUsableOnce      *bool      `json:"isUsableOnce"`
	}
	dec := json.NewDecoder(strings.NewReader(string(rq.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(rq.w, rq.r, http.StatusBadRequest, "BadRequest", "Invalid request body.")
		return
	}
	p := rq.t.tap
	life := 60
	if body.LifetimeInMinutes != nil {
		life = *body.LifetimeInMinutes
	}
	once := p.ForceUsableOnce
	if body.IsUsableOnce != nil {
		once = *body.IsUsableOnce
	}
	switch {
	case !p.Enabled:
		writeError(rq.w, rq.r, http.StatusForbidden, "accessDenied", "Temporary Access Pass is not enabled for this user by the authentication methods policy.")
		return
	case life < p.MinLifetime || life > p.MaxLifetime:
		writeError(rq.w, rq.r, http.StatusBadRequest, "badRequest",
			fmt.Sprintf("lifetimeInMinutes must be between %d and %d by policy.", p.MinLifetime, p.MaxLifetime))
		return
	case p.ForceUsableOnce && !once:
		writeError(rq.w, rq.r, http.StatusBadRequest, "badRequest", "The policy requires a one-time Temporary Access Pass.")
		return
	}
	pass := randomToken("")[:12] + "!T"
	rq.server.passes = append(rq.server.passes, Pass{Tenant: rq.t.id, UserID: u.ID, Value: pass, LifetimeInMinutes: life, IsUsableOnce: once})
	now := time.Now().UTC()
	writeJSON(rq.w, http.StatusCreated, map[string]any{
		"@odata.context":        "https://graph.microsoft.com/v1.0/$metadata#users('" + u.ID + "')/authentication/temporaryAccessPassMethods/$entity",
		"id":                    newGUID(),
		"temporaryAccessPass":   pass,
		"createdDateTime":       now.Format(time.RFC3339),
		"startDateTime":         now.Format(time.RFC3339),
		"lifetimeInMinutes":     life,
		"isUsableOnce":          once,
		"isUsable":              true,
		"methodUsabilityReason": "EnabledByPolicy",
	})
}
