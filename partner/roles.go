package partner

import "strings"

// Role is a GDAP role a technician needs for a reset (docs/architecture.md,
// "Who may do what"). Its value is the role's Entra name, as written in locksmith.yaml.
type Role string

// The two roles that may reset passwords through GDAP (§6.1).
const (
	RoleUserAdministrator                     Role = "User Administrator"
	RolePrivilegedAuthenticationAdministrator Role = "Privileged Authentication Administrator"
)

// Role template IDs (§7.4, from Microsoft's permissions reference only).
const (
	tmplGlobalAdministrator              = "62e90394-69f5-4237-9190-012177145e10"
	tmplPrivilegedAuthenticationAdmin    = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
	tmplPrivilegedRoleAdministrator      = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	tmplUserAdministrator                = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	tmplHelpdeskAdministrator            = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	tmplPasswordAdministrator            = "966707d0-3269-4727-9be2-8c3a10f19b9d"
	tmplAuthenticationAdministrator      = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
	tmplGroupsAdministrator              = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
	tmplDirectoryReaders                 = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
	tmplDirectoryWriters                 = "9360feb5-f418-4baa-8175-e2a00bac4301"
	tmplGlobalReader                     = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	tmplGuestInviter                     = "95e79109-95c0-4d8e-aee3-d01accf2d47b"
	tmplMessageCenterReader              = "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b"
	tmplReportsReader                    = "4a5d8f65-41da-4de4-8968-e035b65339cf"
	tmplUserExperienceSuccessManager     = "27460883-1df1-4691-b032-3b79643e5e63"
	tmplUsageSummaryReportsReader        = "75934031-6c7e-415a-99d7-48dbd49e875e"
	tmplServiceSupportAdministrator      = "f023fd81-a637-4b56-95fd-791ac0226033"
	tmplSecurityAdministrator            = "194ae4cb-b126-40b2-bd5b-6091b380977d"
	tmplExchangeAdministrator            = "29232cdf-9323-42fd-ade2-1d097af3e4de"
	tmplHybridIdentityAdministrator      = "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2"
	tmplDirectorySynchronizationAccounts = "d29b2b05-8046-44ba-8758-1e26182fcf32"
	tmplPartnerTier1Support              = "4ba39ca4-527c-499a-b93d-d9b492c50246"
	tmplPartnerTier2Support              = "e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8"
	tmplDomainNameAdministrator          = "8329153b-31d0-4727-b945-745eb3bc5f31"
)

// roleNames maps template IDs to today's Entra names.
var roleNames = map[string]string{
	tmplGlobalAdministrator:              "Global Administrator",
	tmplPrivilegedAuthenticationAdmin:    "Privileged Authentication Administrator",
	tmplPrivilegedRoleAdministrator:      "Privileged Role Administrator",
	tmplUserAdministrator:                "User Administrator",
	tmplHelpdeskAdministrator:            "Helpdesk Administrator",
	tmplPasswordAdministrator:            "Password Administrator",
	tmplAuthenticationAdministrator:      "Authentication Administrator",
	tmplGroupsAdministrator:              "Groups Administrator",
	tmplDirectoryReaders:                 "Directory Readers",
	tmplDirectoryWriters:                 "Directory Writers",
	tmplGlobalReader:                     "Global Reader",
	tmplGuestInviter:                     "Guest Inviter",
	tmplMessageCenterReader:              "Message Center Reader",
	tmplReportsReader:                    "Reports Reader",
	tmplUserExperienceSuccessManager:     "User Experience Success Manager",
	tmplUsageSummaryReportsReader:        "Usage Summary Reports Reader",
	tmplServiceSupportAdministrator:      "Service Support Administrator",
	tmplSecurityAdministrator:            "Security Administrator",
	tmplExchangeAdministrator:            "Exchange Administrator",
	tmplHybridIdentityAdministrator:      "Hybrid Identity Administrator",
	tmplDirectorySynchronizationAccounts: "Directory Synchronization Accounts",
	tmplPartnerTier1Support:              "Partner Tier1 Support",
	tmplPartnerTier2Support:              "Partner Tier2 Support",
	tmplDomainNameAdministrator:          "Domain Name Administrator",
}

// roleAliases maps lower-cased names, current and legacy, to template IDs. It
// is consulted only when an ID is not a known template ID (§5: Partner Center
// is documented to return template IDs, but a tenant-specific object ID would
// still come with a name).
//
// "Password Administrator" is ambiguous: in the old Azure portal it meant
// today's Helpdesk Administrator (§7.4). It maps to today's Password
// Administrator; both are in the User Administrator's list, so the answer of
// RequiredRole is the same either way, and IDs, which are not ambiguous, are
// matched first.
var roleAliases = func() map[string]string {
	m := make(map[string]string, len(roleNames)+8)
	for id, name := range roleNames {
		m[strings.ToLower(name)] = id
	}
	for name, id := range map[string]string{
		"company administrator":              tmplGlobalAdministrator, // Azure AD Graph / MSOnline
		"user account administrator":         tmplUserAdministrator,   // Partner Center's own example (§5)
		"helpdesk admin":                     tmplHelpdeskAdministrator,
		"service administrator":              tmplServiceSupportAdministrator,
		"exchange service administrator":     tmplExchangeAdministrator,
		"partner tier1 support (deprecated)": tmplPartnerTier1Support,
		"partner tier2 support (deprecated)": tmplPartnerTier2Support,
	} {
		m[name] = id
	}
	return m
}()

// resettableByUserAdmin is the set of roles a User Administrator may reset
// (§9, [ENTRA-PRIV]): a user holding only these, or none, needs no more.
var resettableByUserAdmin = map[string]bool{
	tmplDirectoryReaders:             true,
	tmplGroupsAdministrator:          true,
	tmplGuestInviter:                 true,
	tmplHelpdeskAdministrator:        true,
	tmplMessageCenterReader:          true,
	tmplPasswordAdministrator:        true,
	tmplReportsReader:                true,
	tmplUserAdministrator:            true,
	tmplUserExperienceSuccessManager: true,
	tmplUsageSummaryReportsReader:    true,
}

// templateID resolves a role to its template ID: by ID when the ID is a known
// template ID, else by name through roleAliases. "" when neither is known.
func templateID(r DirectoryRole) string {
	id := strings.ToLower(strings.TrimSpace(r.ID))
	if _, ok := roleNames[id]; ok {
		return id
	}
	return roleAliases[strings.ToLower(strings.TrimSpace(r.Name))]
}

// RequiredRole returns the GDAP role needed to reset the password of a user
// holding roles, as Entra decides it (§9): User Administrator when every role
// is one a User Administrator may reset (or there are none), else Privileged
// Authentication Administrator. An unknown role needs Privileged
// Authentication Administrator: the list changes over time, and failing
// closed is the safe direction.
func RequiredRole(roles []DirectoryRole) Role {
	for _, r := range roles {
		if !resettableByUserAdmin[templateID(r)] {
			return RolePrivilegedAuthenticationAdministrator
		}
	}
	return RoleUserAdministrator
}

// DisplayName returns the role's current Entra name ("Global Administrator"
// for "Company Administrator"), else Partner Center's name, else the ID.
func DisplayName(r DirectoryRole) string {
	if name, ok := roleNames[templateID(r)]; ok {
		return name
	}
	if r.Name != "" {
		return r.Name
	}
	return r.ID
}
