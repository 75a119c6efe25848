package fakepartner

import "strings"

// roleNames maps role template IDs to the names Partner Center shows. Partner
// Center uses the legacy Azure AD Graph / MSOnline names where they differ
// ("Company Administrator" for Global Administrator, "User Account Administrator"
// for User Administrator; §5, §7.4), so a client that classifies by name instead of
// template ID gets caught.
var roleNames = map[string]string{
	"62e90394-69f5-4237-9190-012177145e10": "Company Administrator",
	"7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
	"e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
	"fe930be7-5e62-47db-91af-98c3a49a38b1": "User Account Administrator",
	"729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
	"966707d0-3269-4727-9be2-8c3a10f19b9d": "Password Administrator",
	"c4e39bd9-1100-46d3-8c65-fb160da0071f": "Authentication Administrator",
	"fdd7a751-b60b-444a-984c-02652fe8fa1c": "Groups Administrator",
	"88d8e3e3-8f55-4a1e-953a-9b9898b8876b": "Directory Readers",
	"9360feb5-f418-4baa-8175-e2a00bac4301": "Directory Writers",
	"f2ef992c-3afb-46b9-b7cf-a126ee74c451": "Global Reader",
	"95e79109-95c0-4d8e-aee3-d01accf2d47b": "Guest Inviter",
	"790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b": "Message Center Reader",
	"4a5d8f65-41da-4de4-8968-e035b65339cf": "Reports Reader",
	"27460883-1df1-4691-b032-3b79643e5e63": "User Experience Success Manager",
	"75934031-6c7e-415a-99d7-48dbd49e875e": "Usage Summary Reports Reader",
	"f023fd81-a637-4b56-95fd-791ac0226033": "Service Support Administrator",
	"194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
	"29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
	"8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2": "Hybrid Identity Administrator",
	"d29b2b05-8046-44ba-8758-1e26182fcf32": "Directory Synchronization Accounts",
	"4ba39ca4-527c-499a-b93d-d9b492c50246": "Partner Tier1 Support",
	"e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8": "Partner Tier2 Support",
}

// Role is a directory role held by a seeded user. TemplateID is the role template
// ID, which Partner Center returns as the role's id. Name is optional: when empty
// it comes from the legacy-name table; it is required for an ID not in the table
// (a custom or future role, for "unknown role" tests).
type Role struct{ TemplateID, Name string }

// resolveRole fills in the Partner Center name of r.
func resolveRole(r Role) Role {
	r.TemplateID = strings.ToLower(r.TemplateID)
	if r.Name != "" {
		return r
	}
	name, ok := roleNames[r.TemplateID]
	if !ok {
		panic("fakepartner: role " + r.TemplateID + " is not in the table; give it a Name")
	}
	r.Name = name
	return r
}
