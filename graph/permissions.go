package graph

import "strings"

// ResourceAppID is Microsoft Graph's application ID, the resource named in an
// application-consent grant.
const ResourceAppID = "00000003-0000-0000-c000-000000000000"

// Permission is one delegated Graph permission locksmith asks for in each
// customer tenant, with the reason it is needed.
type Permission struct {
	Scope  string
	Reason string
}

// Permissions are exactly the delegated Graph permissions locksmith uses, and
// what `locksmith consent` asks for. Keep README.md in step with this list.
var Permissions = []Permission{
	{"User.Read.All", "read the target's account facts (enabled, guest, synced, password last changed) and group memberships"},
	{"RoleManagement.Read.Directory", "read active role assignments and PIM-eligible roles, of the user and of its role-assignable groups"},
	{"AdministrativeUnit.Read.All", "see whether the user is in a restricted-management administrative unit"},
	{"User.RevokeSessions.All", "the \"revoke sessions\" recipe"},
	{"User.EnableDisableAccount.All", "the \"re-enable account\" recipe"},
	{"UserAuthenticationMethod.ReadWrite.All", "the \"Temporary Access Pass\" recipe"},
}

// ConsentScope is Permissions as the comma-separated list the
// application-consent API takes.
func ConsentScope() string {
	s := make([]string, len(Permissions))
	for i, p := range Permissions {
		s[i] = p.Scope
	}
	return strings.Join(s, ",")
}
