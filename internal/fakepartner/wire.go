package fakepartner

import (
	"encoding/json"
	"strings"
	"time"
)

// This file holds the JSON shapes the fake puts on the wire. They are written from
// docs/partner-center.md (§1.2, §2.3, §3, §4, §5, §6.2), not shared with the
// client, so a wrong tag on either side shows up as a failing test.

// link is a Partner Center hypermedia link. Its uri is relative and has no "/v1"
// prefix; clients must add it back (§3.3).
type link struct {
	URI     string       `json:"uri"`
	Method  string       `json:"method"`
	Headers []linkHeader `json:"headers"`
}

// linkHeader is one header a client must send when following a link, as a
// key/value pair rather than a JSON object (the SDK's Link model).
type linkHeader struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// attributes is the envelope every resource carries; objectType names the type.
type attributes struct {
	ObjectType string `json:"objectType"`
}

type selfLinks struct {
	Self link `json:"self"`
}

// collectionLinks has next only while more pages follow: the SDK treats a missing
// next link as the end of the collection.
type collectionLinks struct {
	Self link  `json:"self"`
	Next *link `json:"next,omitempty"`
}

// collection is the Partner Center collection envelope. TotalCount is the number
// of items on this page, not a grand total (§3.3). ContinuationToken is present
// (possibly "") only on seek-based collections such as users.
type collection[T any] struct {
	TotalCount        int              `json:"totalCount"`
	Items             []T              `json:"items"`
	ContinuationToken *string          `json:"continuationToken,omitempty"`
	Links             *collectionLinks `json:"links,omitempty"`
	Attributes        attributes       `json:"attributes"`
}

func newCollection[T any](items []T) collection[T] {
	if items == nil {
		items = []T{} // an empty page is "items": [], never null
	}
	return collection[T]{TotalCount: len(items), Items: items, Attributes: attributes{ObjectType: "Collection"}}
}

type customerJSON struct {
	ID                    string             `json:"id"`
	CommerceID            string             `json:"commerceId"`
	CompanyProfile        companyProfileJSON `json:"companyProfile"`
	RelationshipToPartner string             `json:"relationshipToPartner"`
	// AllowDelegatedAccess is only sent when a customer is read by ID (§3.1).
	AllowDelegatedAccess *bool      `json:"allowDelegatedAccess,omitempty"`
	CustomDomains        []string   `json:"customDomains,omitempty"`
	Links                selfLinks  `json:"links"`
	Attributes           attributes `json:"attributes"`
}

type companyProfileJSON struct {
	TenantID    string     `json:"tenantId"`
	Domain      string     `json:"domain"`
	CompanyName string     `json:"companyName"`
	Links       selfLinks  `json:"links"`
	Attributes  attributes `json:"attributes"`
}

type customerUserJSON struct {
	UsageLocation     string               `json:"usageLocation,omitempty"`
	ID                string               `json:"id"`
	UserPrincipalName string               `json:"userPrincipalName"`
	FirstName         string               `json:"firstName,omitempty"`
	LastName          string               `json:"lastName,omitempty"`
	DisplayName       string               `json:"displayName,omitempty"`
	PasswordProfile   *passwordProfileJSON `json:"passwordProfile,omitempty"`
	// LastDirectorySyncTime is always present: null for a cloud-only user, a time for
	// a user synced from on-premises AD.
	LastDirectorySyncTime *string    `json:"lastDirectorySyncTime"`
	UserDomainType        string     `json:"userDomainType"`
	State                 string     `json:"state"`
	SoftDeletionTime      *string    `json:"softDeletionTime,omitempty"`
	Links                 selfLinks  `json:"links"`
	Attributes            attributes `json:"attributes"`
}

// passwordProfileJSON is echoed, password included, by a successful reset (§6.2).
type passwordProfileJSON struct {
	ForceChangePassword bool   `json:"forceChangePassword"`
	Password            string `json:"password"`
}

type directoryRoleJSON struct {
	Name       string     `json:"name"`
	ID         string     `json:"id"`
	Attributes attributes `json:"attributes"`
}

// apiFault is Partner Center's error body. Code is a number for some errors
// (20002, 60002…) and a string for others, so it is typed any (§2.3).
type apiFault struct {
	Code        any    `json:"code"`
	Description string `json:"description"`
	Data        []any  `json:"data"`
	Source      string `json:"source"`
}

// throttled is the API gateway's 429 body, which is not an ApiFault (§2.3).
type throttled struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
}

// entraError is the token endpoint's error body, the same on v1 and v2 (§1.2).
type entraError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes,omitempty"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri,omitempty"`
	Suberror         string `json:"suberror,omitempty"`
}

// tokenV2 is the v2.0 endpoint's answer: numbers are JSON integers.
type tokenV2 struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// tokenV1 is the v1 endpoint's answer: every number is a JSON string.
type tokenV1 struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    string `json:"expires_in"`
	ExtExpiresIn string `json:"ext_expires_in"`
	ExpiresOn    string `json:"expires_on"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// pcTime formats a timestamp the way Partner Center's examples do: UTC, whole
// seconds, "Z" ("2017-01-20T00:33:34Z").
func pcTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// entraTime formats the token error's timestamp field ("2016-04-11 18:00:12Z").
func entraTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// lookupFold returns the value of key in obj, matching key case-insensitively.
// Partner Center binds request properties without regard to case because the .NET
// SDK sends PascalCase while the docs show camelCase (§2.2). An exact match wins.
func lookupFold(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := obj[key]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}
