package partner

import "testing"

func TestRequiredRole(t *testing.T) {
	ua, paa := RoleUserAdministrator, RolePrivilegedAuthenticationAdministrator
	tests := []struct {
		name  string
		roles []DirectoryRole
		want  Role
	}{
		{"no role; User Administrator", nil, ua},
		{"Helpdesk Administrator by ID", []DirectoryRole{{ID: tmplHelpdeskAdministrator, Name: "Helpdesk Administrator"}}, ua},
		{"Global Administrator by ID with legacy name", []DirectoryRole{{ID: tmplGlobalAdministrator, Name: "Company Administrator"}}, paa},
		{"User Account Administrator (legacy) by ID", []DirectoryRole{{ID: tmplUserAdministrator, Name: "User Account Administrator"}}, ua},
		{"every User Administrator role at once", []DirectoryRole{
			{ID: tmplDirectoryReaders}, {ID: tmplGroupsAdministrator}, {ID: tmplGuestInviter}, {ID: tmplHelpdeskAdministrator},
			{ID: tmplMessageCenterReader}, {ID: tmplPasswordAdministrator}, {ID: tmplReportsReader}, {ID: tmplUserAdministrator},
			{ID: tmplUserExperienceSuccessManager}, {ID: tmplUsageSummaryReportsReader}}, ua},
		{"one privileged role among harmless ones", []DirectoryRole{{ID: tmplDirectoryReaders}, {ID: tmplAuthenticationAdministrator}}, paa},
		{"Global Reader is not on the list", []DirectoryRole{{ID: tmplGlobalReader}}, paa},
		{"Privileged Role Administrator", []DirectoryRole{{ID: tmplPrivilegedRoleAdministrator}}, paa},
		{"upper-case template ID", []DirectoryRole{{ID: "729827E3-9C14-49F7-BB1B-9608F156BBB8"}}, ua},
		{"object ID with legacy name Company Administrator", []DirectoryRole{{ID: "0b8e9f1e-0000-4000-8000-000000000001", Name: "Company Administrator"}}, paa},
		{"object ID with legacy name User Account Administrator", []DirectoryRole{{ID: "0b8e9f1e-0000-4000-8000-000000000002", Name: "user account administrator"}}, ua},
		{"object ID with current name Helpdesk Administrator", []DirectoryRole{{ID: "0b8e9f1e-0000-4000-8000-000000000003", Name: "Helpdesk Administrator"}}, ua},
		{"unknown ID and unknown name; fail closed", []DirectoryRole{{ID: "0b8e9f1e-0000-4000-8000-000000000004", Name: "Custom Reset Wizard"}}, paa},
		{"empty role; fail closed", []DirectoryRole{{}}, paa},
		{"ID wins over a misleading name", []DirectoryRole{{ID: tmplGlobalAdministrator, Name: "Directory Readers"}}, paa},
		{"Password Administrator by ID (today's role)", []DirectoryRole{{ID: tmplPasswordAdministrator, Name: "Password Administrator"}}, ua},
		{"Partner Tier2 Support", []DirectoryRole{{ID: tmplPartnerTier2Support}}, paa},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RequiredRole(tt.roles); got != tt.want {
				t.Errorf("RequiredRole = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDisplayName(t *testing.T) {
	tests := []struct {
		name string
		role DirectoryRole
		want string
	}{
		{"legacy Company Administrator by ID", DirectoryRole{ID: tmplGlobalAdministrator, Name: "Company Administrator"}, "Global Administrator"},
		{"legacy User Account Administrator by ID", DirectoryRole{ID: tmplUserAdministrator, Name: "User Account Administrator"}, "User Administrator"},
		{"legacy name without a known ID", DirectoryRole{ID: "x", Name: "Company Administrator"}, "Global Administrator"},
		{"unknown role keeps Partner Center's name", DirectoryRole{ID: "x", Name: "Custom Reset Wizard"}, "Custom Reset Wizard"},
		{"nameless unknown role shows the ID", DirectoryRole{ID: "x"}, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DisplayName(tt.role); got != tt.want {
				t.Errorf("DisplayName = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRoleTables_Consistent guards the tables against typos: every role a User
// Administrator may reset has a name, and every alias points at a known ID.
func TestRoleTables_Consistent(t *testing.T) {
	if len(resettableByUserAdmin) != 10 {
		t.Errorf("User Administrator list has %d roles, want the 10 of docs/partner-center.md §9", len(resettableByUserAdmin))
	}
	for id := range resettableByUserAdmin {
		if _, ok := roleNames[id]; !ok {
			t.Errorf("resettable role %s has no name", id)
		}
	}
	for alias, id := range roleAliases {
		if _, ok := roleNames[id]; !ok {
			t.Errorf("alias %q points at unknown ID %s", alias, id)
		}
	}
}
