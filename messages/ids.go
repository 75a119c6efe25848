package messages

// The message IDs, one for each text in en.yaml and ja.yaml except the Entra
// role names (see RoleName). catalog_test.go fails when the files and this list
// disagree.
const (
	// Dates, formatted by Slack in each reader's own time zone and language.
	DateAt        ID = "date.at"
	DatePlain     ID = "date.plain"
	ListSeparator ID = "list.separator"

	// /reset-password help and input checks.
	Usage                ID = "usage"
	ParseTooLong         ID = "parse.too_long"
	ParseNotUTF8         ID = "parse.not_utf8"
	ParseControl         ID = "parse.control"
	ParseQuoteOpen       ID = "parse.quote_open"
	ParseQuoteEmpty      ID = "parse.quote_empty"
	ParseNeedBoth        ID = "parse.need_both"
	ParseCustomerLink    ID = "parse.customer_link"
	ParseCustomerTooLong ID = "parse.customer_too_long"
	ParseCustomerShape   ID = "parse.customer_shape"
	ParseBadDomain       ID = "parse.bad_domain"
	ParseNameShort       ID = "parse.name_short"
	ParseUserLink        ID = "parse.user_link"
	ParseBadUser         ID = "parse.bad_user"
	ParseUserShape       ID = "parse.user_shape"
	ParseUserTooLong     ID = "parse.user_too_long"
	ParseUserLocalLength ID = "parse.user_local_length"
	ParseUserLocalChars  ID = "parse.user_local_chars"
	ParseUserLocalDot    ID = "parse.user_local_dot"
	ParseUserDomain      ID = "parse.user_domain"
	ParseReasonMarkup    ID = "parse.reason_markup"
	ParseReasonTooLong   ID = "parse.reason_too_long"

	// /reset-password language
	LanguageSetEn      ID = "language.set_en"
	LanguageSetJa      ID = "language.set_ja"
	LanguageSetAuto    ID = "language.set_auto"
	LanguageUsage      ID = "language.usage"
	LanguageSaveFailed ID = "language.save_failed"

	// Refusals and answers to /reset-password.
	ReplyClaimFailed          ID = "reply.claim_failed"
	ReplyReasonRequired       ID = "reply.reason_required"
	ReplyGrantCheckFailed     ID = "reply.grant_check_failed"
	ReplyNoGrant              ID = "reply.no_grant"
	ReplyRoleTooWeak          ID = "reply.role_too_weak"
	ReplySyncedRefused        ID = "reply.synced_refused"
	ReplyCustomerNotFound     ID = "reply.customer_not_found"
	ReplyCustomerLookupFailed ID = "reply.customer_lookup_failed"
	ReplyCandidates           ID = "reply.candidates"
	ReplyCandidatesMore       ID = "reply.candidates_more"
	ReplyCandidate            ID = "reply.candidate"
	ReplyUserNotFound         ID = "reply.user_not_found"
	ReplyUserLookupFailed     ID = "reply.user_lookup_failed"
	ReplyUserDeleted          ID = "reply.user_deleted"
	ReplyRolesLookupFailed    ID = "reply.roles_lookup_failed"
	RolesNone                 ID = "roles.none"
	RolesItem                 ID = "roles.item"
	RolesSome                 ID = "roles.some"
	SyncedWarning             ID = "synced.warning"
	SyncedUnknownTime         ID = "synced.unknown_time"

	// Partner Center problems, shown after "Could not …" or on their own.
	PartnerRef          ID = "partner.ref"
	PartnerDetailCode   ID = "partner.detail_code"
	PartnerDetailStatus ID = "partner.detail_status"
	PartnerWaitMinute   ID = "partner.wait_minute"
	PartnerWaitSeconds  ID = "partner.wait_seconds"
	PartnerThrottled    ID = "partner.throttled"
	PartnerUnavailable  ID = "partner.unavailable"
	PartnerUnauthorised ID = "partner.unauthorised"
	PartnerForbidden    ID = "partner.forbidden"
	PartnerNotFound     ID = "partner.not_found"
	PartnerNotStarted   ID = "partner.not_started"
	PartnerRejected     ID = "partner.rejected"
	PartnerTimeout      ID = "partner.timeout"
	PartnerOther        ID = "partner.other"

	ReplyAccountRefused       ID = "reply.account_refused"
	ReplyApproverAccount      ID = "reply.approver_account"
	AccountDeactivated        ID = "account.deactivated"
	AccountBot                ID = "account.bot"
	AccountSingleChannelGuest ID = "account.single_channel_guest"
	AccountGuest              ID = "account.guest"

	// Asking for approval.
	ReplyCreateFailed ID = "reply.create_failed"
	ReplyCardFailed   ID = "reply.card_failed"
	ReplySent         ID = "reply.sent"
	ReplyQueued       ID = "reply.queued"
	ReplyQueueFull    ID = "reply.queue_full"
	NoticeChannelLink ID = "notice.channel_link"
	NoticePending     ID = "notice.pending"

	// Why a click on a request that has moved on does nothing.
	StatePending   ID = "state.pending"
	StateApproved  ID = "state.approved"
	StateDenied    ID = "state.denied"
	StateWithdrawn ID = "state.withdrawn"
	StateExpired   ID = "state.expired"
	StateResetting ID = "state.resetting"
	StateDone      ID = "state.done"
	StateFailed    ID = "state.failed"
	StateFinal     ID = "state.final"

	// Buttons: answers to the person who clicked.
	ReplyRequestGone           ID = "reply.request_gone"
	ReplyLoadFailed            ID = "reply.load_failed"
	ReplyUnknownButton         ID = "reply.unknown_button"
	ReplyOwnApprove            ID = "reply.own_approve"
	ReplyOwnDeny               ID = "reply.own_deny"
	ReplyDeciderCheckFailed    ID = "reply.decider_check_failed"
	ReplyDeciderTooWeakApprove ID = "reply.decider_too_weak_approve"
	ReplyDeciderTooWeakDeny    ID = "reply.decider_too_weak_deny"
	GrantNone                  ID = "grant.none"
	GrantRole                  ID = "grant.role"
	ReplyApproved              ID = "reply.approved"
	ReplyDenied                ID = "reply.denied"
	ReplyWithdrawNotRequester  ID = "reply.withdraw_not_requester"
	ReplyWithdrawn             ID = "reply.withdrawn"
	ReplyResetNotRequester     ID = "reply.reset_not_requester"
	ReplyResetCheckFailed      ID = "reply.reset_check_failed"
	ReplyRolesRecheckFailed    ID = "reply.roles_recheck_failed"
	ReplyTargetGainedRole      ID = "reply.target_gained_role"
	ReplyRequesterLostGrant    ID = "reply.requester_lost_grant"
	ReplyApproverCheckFailed   ID = "reply.approver_check_failed"
	ReplyApproverLostGrant     ID = "reply.approver_lost_grant"
	ReplyClaimAuditFailed      ID = "reply.claim_audit_failed"
	ReplySelfDecision          ID = "reply.self_decision"
	ReplyNotRequester          ID = "reply.not_requester"
	ReplySaveFailed            ID = "reply.save_failed"
	ResetNotReset              ID = "reset.not_reset"
	ResetUnconfirmed           ID = "reset.unconfirmed"
	ResetReopenFailed          ID = "reset.reopen_failed"
	ResetApprovalStands        ID = "reset.approval_stands"
	ReplyFailed                ID = "reply.failed"
	ReplyDone                  ID = "reply.done"

	// Without sign-off (approval.required: false).
	ReplyIntentAuditFailed ID = "reply.intent_audit_failed"
	ReplyDirectUnconfirmed ID = "reply.direct_unconfirmed"
	ReplyDirectFailed      ID = "reply.direct_failed"
	ReplyDirectDone        ID = "reply.direct_done"
	NoticePasswordLost     ID = "notice.password_lost"

	// DMs to the requester.
	NoticeApproved         ID = "notice.approved"
	NoticeDenied           ID = "notice.denied"
	NoticeFailed           ID = "notice.failed"
	NoticeDone             ID = "notice.done"
	NoticeExpiredUndecided ID = "notice.expired_undecided"
	NoticeExpiredUnused    ID = "notice.expired_unused"
	NoticeExpiredUnposted  ID = "notice.expired_unposted"
	NoticeInterrupted      ID = "notice.interrupted"

	// Status lines of the approval card.
	StatusApproved           ID = "status.approved"
	StatusDenied             ID = "status.denied"
	StatusWithdrawn          ID = "status.withdrawn"
	StatusFailed             ID = "status.failed"
	StatusDeliveryFailed     ID = "status.delivery_failed"
	StatusDone               ID = "status.done"
	StatusExpiredUndecided   ID = "status.expired_undecided"
	StatusExpiredUnused      ID = "status.expired_unused"
	StatusUnreachable        ID = "status.unreachable"
	UnreachableRefused       ID = "unreachable.refused"
	UnreachableUntilShutdown ID = "unreachable.until_shutdown"
	StatusInterrupted        ID = "status.interrupted"

	// The approval card.
	CardHeader       ID = "card.header"
	CardRequester    ID = "card.requester"
	CardCustomer     ID = "card.customer"
	CardTenantID     ID = "card.tenant_id"
	CardUser         ID = "card.user"
	CardAdminRoles   ID = "card.admin_roles"
	CardRoleNeeded   ID = "card.role_needed"
	CardExpires      ID = "card.expires"
	CardReason       ID = "card.reason"
	CardReasonNone   ID = "card.reason_none"
	CardStatus       ID = "card.status"
	CardWaiting      ID = "card.waiting"
	CardContext      ID = "card.context"
	CardRolesNone    ID = "card.roles_none"
	CardRolesMore    ID = "card.roles_more"
	CardGraph        ID = "card.graph"
	CardFallback     ID = "card.fallback"
	ButtonApprove    ID = "button.approve"
	ButtonDeny       ID = "button.deny"
	ConfirmDenyTitle ID = "confirm.deny_title"
	ConfirmDenyText  ID = "confirm.deny_text"
	ConfirmDeny      ID = "confirm.deny"
	ConfirmCancel    ID = "confirm.cancel"

	// DMs: buttons and the password message.
	NoticeNoDetails      ID = "notice.no_details"
	ButtonReset          ID = "button.reset"
	ButtonTAP            ID = "button.tap"
	ButtonRevoke         ID = "button.revoke"
	ButtonEnable         ID = "button.enable"
	ButtonWithdraw       ID = "button.withdraw"
	NoticeValidUntil     ID = "notice.valid_until"
	DeliveryHead         ID = "delivery.head"
	DeliveryHeadCustomer ID = "delivery.head_customer"
	DeliveryRules        ID = "delivery.rules"
	DeliveryFallback     ID = "delivery.fallback"

	// Acknowledgements sent before the work starts.
	AckLookingUp  ID = "ack.looking_up"
	AckBusy       ID = "ack.busy"
	AckRestarting ID = "ack.restarting"
	AckStopped    ID = "ack.stopped"
	AckFailed     ID = "ack.failed"

	// The audit channel's line for one audit row. Outcome and IDs stay codes.
	AuditLine ID = "audit.line"
)

// App Home and /reset-password status (bot/home.go, commands/home.go).
const (
	HomeLine                ID = "home.line"
	HomeLineOf              ID = "home.line_of"
	HomeBreakGlass          ID = "home.break_glass"
	HomeTicket              ID = "home.ticket"
	HomeStatePending        ID = "home.state_pending"
	HomeStatePendingOf      ID = "home.state_pending_of"
	HomeStateApproved       ID = "home.state_approved"
	HomeStateDenied         ID = "home.state_denied"
	HomeStateDeniedWhy      ID = "home.state_denied_why"
	HomeStateWithdrawn      ID = "home.state_withdrawn"
	HomeStateExpired        ID = "home.state_expired"
	HomeStateResetting      ID = "home.state_resetting"
	HomeStateDone           ID = "home.state_done"
	HomeStateDoneUnreviewed ID = "home.state_done_unreviewed"
	HomeStateFailed         ID = "home.state_failed"
	HomeTitleMine           ID = "home.title_mine"
	HomeTitleWaiting        ID = "home.title_waiting"
	HomeTitleHistory        ID = "home.title_history"
	HomeEmptyMine           ID = "home.empty_mine"
	HomeEmptyWaiting        ID = "home.empty_waiting"
	HomeEmptyHistory        ID = "home.empty_history"
	HomeValidUntil          ID = "home.valid_until"
	HomeMore                ID = "home.more"
	HomeOverflow            ID = "home.overflow"
	ButtonAcknowledge       ID = "button.acknowledge"
	StatusMine              ID = "status.mine"
	StatusWaiting           ID = "status.waiting"
	StatusHistory           ID = "status.history"
	StatusMineNone          ID = "status.mine_none"
	StatusNothing           ID = "status.nothing"
	StatusButtons           ID = "status.buttons"
	StatusMore              ID = "status.more"
	StatusWithdraw          ID = "status.withdraw"
)

// The deny form (bot/denyform.go); its buttons are ConfirmDeny and ConfirmCancel.
const (
	DenyTitle          ID = "deny.title"
	DenyLabel          ID = "deny.label"
	DenyHint           ID = "deny.hint"
	DenyPlaceholder    ID = "deny.placeholder"
	DenyReasonRequired ID = "deny.reason_required"
	DenyOpenFailed     ID = "deny.open_failed"
)

// The card's policy and break-glass fields and the Temporary Access Pass
// delivery (bot/render.go).
const (
	CardApprovals           ID = "card.approvals"
	CardApprovalsProgress   ID = "card.approvals_progress"
	CardTicket              ID = "card.ticket"
	CardPolicy              ID = "card.policy"
	CardReviewedBy          ID = "card.reviewed_by"
	CardHeaderBreakGlass    ID = "card.header_break_glass"
	CardFallbackBreakGlass  ID = "card.fallback_break_glass"
	DeliveryTAPHead         ID = "delivery.tap_head"
	DeliveryTAPHeadCustomer ID = "delivery.tap_head_customer"
	DeliveryTAPRulesOnce    ID = "delivery.tap_rules_once"
	DeliveryTAPRulesMulti   ID = "delivery.tap_rules_multi"
	DeliveryTAPFallback     ID = "delivery.tap_fallback"
	DurationMinutes         ID = "duration.minutes"
	DurationHours           ID = "duration.hours"
)

// Texts added by the policy and Graph work (limits, dry run, facts, recipes,
// policy, nudges, break-glass, multi-approval progress).
const (
	// Velocity limits.
	ReplyTooManyResets ID = "reply.too_many_resets"
	LimitWhoYou        ID = "limit.who_you"
	LimitWhoCustomer   ID = "limit.who_customer"
)

// Reminders and escalations in the card's thread.
const (
	NudgeReminder   ID = "nudge.reminder"
	NudgeEscalation ID = "nudge.escalation"
	NudgeProgress   ID = "nudge.progress"
)

// Break-glass: resets without approval and their review.
const (
	BreakGlassListCheckFailed ID = "breakglass.list_check_failed"
	BreakGlassNotListed       ID = "breakglass.not_listed"
	BreakGlassNotAllowed      ID = "breakglass.not_allowed"
	BreakGlassRecordFailed    ID = "breakglass.record_failed"
	BreakGlassStatus          ID = "breakglass.status"
	BreakGlassContactNotice   ID = "breakglass.contact_notice"
	BreakGlassNoteApprovals   ID = "breakglass.note_approvals"
	BreakGlassNoteTicket      ID = "breakglass.note_ticket"
	BreakGlassIncomplete      ID = "breakglass.incomplete"
	BreakGlassNotBreakGlass   ID = "breakglass.not_break_glass"
	BreakGlassOwnReview       ID = "breakglass.own_review"
	BreakGlassAlreadyReviewed ID = "breakglass.already_reviewed"
	BreakGlassReviewedStatus  ID = "breakglass.reviewed_status"
	BreakGlassReviewedNotice  ID = "breakglass.reviewed_notice"
	BreakGlassReviewThanks    ID = "breakglass.review_thanks"
	BreakGlassReviewReminder  ID = "breakglass.review_reminder"
	BreakGlassStateDone       ID = "breakglass.state_done"
	BreakGlassStateFailed     ID = "breakglass.state_failed"
	BreakGlassStateInProgress ID = "breakglass.state_in_progress"
)

// Policy refusals: ambiguity, tickets and reasons, who may decide.
const (
	PolicyAmbiguous          ID = "policy.ambiguous"
	PolicyNeedsTicket        ID = "policy.needs_ticket"
	PolicyNeedsReason        ID = "policy.needs_reason"
	PolicyOwnRequest         ID = "policy.own_request"
	PolicyNotApprover        ID = "policy.not_approver"
	PolicyHoldsNoGrant       ID = "policy.holds_no_grant"
	PolicyDeciderRoleTooWeak ID = "policy.decider_role_too_weak"
	// What the person tried, as mayDecide's verb names it.
	PolicyVerbApprove ID = "policy.verb_approve"
	PolicyVerbDeny    ID = "policy.verb_deny"
	PolicyVerbReview  ID = "policy.verb_review"
)

// Multi-approval progress and approvals that stopped counting.
const (
	ApprovalAlreadyYours   ID = "approval.already_yours"
	ApprovalProgressNotice ID = "approval.progress_notice"
	ApprovalRecorded       ID = "approval.recorded"
	ApprovalAccountLost    ID = "approval.account_lost"
	ApprovalRecheckFailed  ID = "approval.recheck_failed"
	ApprovalNoLongerCounts ID = "approval.no_longer_counts"
)

// The dry run: /reset-password check <customer> <user>.
const (
	CheckHead               ID = "check.head"
	CheckCustomer           ID = "check.customer"
	CheckUser               ID = "check.user"
	CheckRoleNeeded         ID = "check.role_needed"
	CheckEnough             ID = "check.enough"
	CheckNotEnough          ID = "check.not_enough"
	CheckApprovalOff        ID = "check.approval_off"
	CheckApprovalOffSynced  ID = "check.approval_off_synced"
	CheckPolicy             ID = "check.policy"
	CheckApprovals          ID = "check.approvals"
	CheckNeeds              ID = "check.needs"
	CheckApproversUnknown   ID = "check.approvers_unknown"
	CheckApproversNamed     ID = "check.approvers_named"
	CheckApproversNobody    ID = "check.approvers_nobody"
	CheckApproversGrants    ID = "check.approvers_grants"
	CheckReasonTicket       ID = "check.reason_ticket"
	CheckReasonTicketLinked ID = "check.reason_ticket_linked"
	CheckReasonRequired     ID = "check.reason_required"
	CheckReasonOptional     ID = "check.reason_optional"
	CheckExpiry             ID = "check.expiry"
	CheckBreakGlassUnknown  ID = "check.break_glass_unknown"
	CheckBreakGlassOff      ID = "check.break_glass_off"
	CheckBreakGlassYou      ID = "check.break_glass_you"
	CheckBreakGlassNotYou   ID = "check.break_glass_not_you"
	CheckPrivileged         ID = "check.privileged"
)

// Microsoft Graph's facts about the target, on the card and in DMs.
const (
	FactsEnabledUnknown  ID = "facts.enabled_unknown"
	FactsEnabled         ID = "facts.enabled"
	FactsDisabled        ID = "facts.disabled"
	FactsGuest           ID = "facts.guest"
	FactsSynced          ID = "facts.synced"
	FactsPasswordChanged ID = "facts.password_changed"
	FactsAccount         ID = "facts.account"
	FactsRoles           ID = "facts.roles"
	FactsNoRoles         ID = "facts.no_roles"
	FactsUnknown         ID = "facts.unknown"
	FactsApprovalCovers  ID = "facts.approval_covers"
)

// Targets Graph's facts rule out.
const (
	FactsRefuseGuest          ID = "facts.refuse_guest"
	FactsRefuseRestrictedUnit ID = "facts.refuse_restricted_unit"
	FactsRefuseUnknown        ID = "facts.refuse_unknown"
)

// Recipes: what an approval covers and the Graph buttons' replies.
const (
	RecipeOffer                 ID = "recipe.offer"
	RecipeNotApproved           ID = "recipe.not_approved"
	RecipeGraphOff              ID = "recipe.graph_off"
	RecipeNoLongerAllowed       ID = "recipe.no_longer_allowed"
	RecipeOnlyRequester         ID = "recipe.only_requester"
	RecipeApprovalEnded         ID = "recipe.approval_ended"
	RecipeAuditFailed           ID = "recipe.audit_failed"
	RecipeFailed                ID = "recipe.failed"
	RecipeSessionsRevokedNotice ID = "recipe.sessions_revoked_notice"
	RecipeSessionsRevoked       ID = "recipe.sessions_revoked"
	RecipeEnabledNotice         ID = "recipe.enabled_notice"
	RecipeEnabled               ID = "recipe.enabled"
	// A recipe's name, "recipe."+Recipe (recipeText).
	RecipeNameResetPassword  ID = "recipe.reset_password"
	RecipeNameTAP            ID = "recipe.temporary_access_pass"
	RecipeNameRevokeSessions ID = "recipe.revoke_sessions"
	RecipeNameEnableAccount  ID = "recipe.enable_account"
)

// Temporary Access Pass outcomes.
const (
	RecipeGraphUnknownAtReset  ID = "recipe.graph_unknown_at_reset"
	TAPRefusedStatus           ID = "tap.refused_status"
	TAPNotCreated              ID = "tap.not_created"
	TAPUnconfirmedReopenFailed ID = "tap.unconfirmed_reopen_failed"
	TAPUnconfirmed             ID = "tap.unconfirmed"
	TAPLostStatus              ID = "tap.lost_status"
	TAPLost                    ID = "tap.lost"
	TAPIssuedStatus            ID = "tap.issued_status"
	TAPIssuedNotice            ID = "tap.issued_notice"
	TAPDone                    ID = "tap.done"
)

// An approver whose grants do not cover every recipe of a request.
const RecipeApproverNotCovered ID = "recipe.approver_not_covered"
