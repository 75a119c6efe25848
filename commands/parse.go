package commands

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Limits on what a requester may type. Slack allows up to 4,000 characters of
// slash-command text; nothing legitimate comes close, and refusing early keeps
// megabytes of junk out of logs, Partner Center queries and the audit trail.
const (
	maxCommandText  = 1500
	maxReasonRunes  = 500
	maxCustomerText = 256
	// UPN limits from Entra (docs/partner-center.md §4.2).
	maxUPN       = 113
	maxUPNLocal  = 64
	maxUPNDomain = 48
)

// ParseResult says what to do with a /reset-password invocation: run it, or answer
// at once with Reply and change nothing.
type ParseResult struct {
	// Reply is set when the text was help, empty or malformed: show it and stop.
	Reply string
	// Otherwise the command to run.
	Customer CustomerRef
	User     UserRef
	Reason   string
	// Check is a dry run (`check <customer> <user>`): say what would happen,
	// change nothing.
	Check bool
	// BreakGlass is `--break-glass` before the reason: reset without approval.
	BreakGlass bool
	// Status is `status`: your requests and what waits for you, as text.
	Status bool
}

// CustomerRef is the customer as typed, classified by shape.
type CustomerRef struct {
	Kind  RefKind // RefID, RefDomain or RefName
	Value string  // tenant ID (lower case), domain (lower case) or name prefix
}

// UserRef is the target user as typed, classified by shape.
type UserRef struct {
	Kind  RefKind // RefID or RefUPN
	Value string  // object ID (lower case) or UPN
}

// RefKind is the shape of a customer or user reference.
type RefKind int

const (
	RefID RefKind = iota + 1
	RefDomain
	RefName
	RefUPN
)

// breakGlassFlag, before the reason, asks for a reset without approval.
const breakGlassFlag = "--break-glass"

// Usage is the help text, also shown for empty input.
const Usage = "*Usage:* `/reset-password <customer> <user> [reason…]`\n" +
	"• `<customer>`: the tenant ID, a domain (`contoso.onmicrosoft.com`) or the start of the company name (quote names with spaces: `\"Contoso Ltd\"`)\n" +
	"• `<user>`: the user's sign-in name (`alice@contoso.com`) or object ID\n" +
	"• `[reason…]`: why, e.g. a ticket number (up to 500 characters)\n" +
	"Example: `/reset-password contoso.onmicrosoft.com alice@contoso.com INC-4711`\n" +
	"`/reset-password check <customer> <user>`: what would happen (the role needed, the policy, who may approve), without doing anything\n" +
	"`/reset-password status`: your requests and what waits for your decision\n" +
	"`/reset-password <customer> <user> --break-glass <reason>`: reset without approval when no approver can be reached (break-glass list only; reviewed afterwards)"

var (
	guidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainRE = regexp.MustCompile(`^(?i:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.(?i:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?))+$`)
	// Characters Entra allows before the @ of a UPN (docs/partner-center.md §4.2).
	upnLocalRE = regexp.MustCompile(`^[A-Za-z0-9'._!#^~-]+$`)
	// Slack markup: <@U123|name>, <#C123>, <!channel>, <http://x|y>, <mailto:a@b|a@b>.
	slackMarkupRE = regexp.MustCompile(`<[^<>]*>`)
)

// Parse reads the text after /reset-password. It never calls anything: a result
// with Reply set means "tell the person and do nothing else".
func Parse(text string) ParseResult {
	if len(text) > maxCommandText {
		return reply("That is too long (%d characters; the limit is %d). Give the customer, the user and a short reason.", utf8.RuneCountInString(text), maxCommandText)
	}
	if !utf8.ValidString(text) {
		return reply("The text is not valid UTF-8; please type it again.")
	}
	// Typed text is refused rather than cleaned (see isNeutralised): what
	// locksmith acts on and records is then exactly what the requester sees.
	for _, r := range text {
		if r != ' ' && r != '\t' && isNeutralised(r) {
			return reply("The text contains control characters or invisible or direction-changing formatting (%U); please type it again without them.", r)
		}
	}
	trimmed := strings.TrimSpace(text)
	if trimmed == "" || strings.EqualFold(trimmed, "help") {
		return ParseResult{Reply: Usage}
	}

	if strings.EqualFold(trimmed, "status") {
		return ParseResult{Status: true}
	}
	// "check" unquoted, then a customer and a user, is a dry run. A customer
	// whose name starts with "check" can still be given in quotes.
	check := false
	if word, after, ok := strings.Cut(trimmed, " "); ok && strings.EqualFold(word, "check") {
		if args, rest, _ := splitArgs(after, 2); len(args) == 2 {
			if _, msg := parseUser(args[1]); msg == "" {
				if rest != "" {
					return ParseResult{Reply: "`check` takes only the customer and the user: `/reset-password check <customer> <user>`."}
				}
				check, trimmed = true, strings.TrimSpace(after)
			}
		}
	}

	args, rest, err := splitArgs(trimmed, 2)
	if err != "" {
		return ParseResult{Reply: err + "\n\n" + Usage}
	}
	if len(args) < 2 {
		return ParseResult{Reply: "Give both the customer and the user.\n\n" + Usage}
	}

	cust, msg := parseCustomer(args[0])
	if msg != "" {
		return ParseResult{Reply: msg}
	}
	user, msg := parseUser(args[1])
	if msg != "" {
		return ParseResult{Reply: msg}
	}
	breakGlass := false
	if word, after, _ := strings.Cut(rest, " "); strings.EqualFold(word, breakGlassFlag) {
		if check {
			return ParseResult{Reply: "`check` and `" + breakGlassFlag + "` do not go together."}
		}
		breakGlass, rest = true, strings.TrimSpace(after)
		if rest == "" {
			return ParseResult{Reply: "`" + breakGlassFlag + "` needs a reason: `/reset-password <customer> <user> " + breakGlassFlag + " <why no approver could be reached>`."}
		}
	}
	reason, msg := parseReason(rest)
	if msg != "" {
		return ParseResult{Reply: msg}
	}
	return ParseResult{Customer: cust, User: user, Reason: reason, Check: check, BreakGlass: breakGlass}
}

func reply(format string, a ...any) ParseResult {
	return ParseResult{Reply: fmt.Sprintf(format, a...)}
}

// splitArgs takes the first n arguments (double quotes, including the curly ones
// macOS and iOS substitute as people type, group words) and returns the rest of
// the text untouched. A problem comes back as a sentence for the requester.
func splitArgs(s string, n int) (args []string, rest string, problem string) {
	i := 0
	for len(args) < n {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return args, "", ""
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '"' || r == '“' || r == '”' {
			j := i + size
			end := -1
			for k, c := range s[j:] {
				if c == '"' || c == '“' || c == '”' {
					end = j + k
					break
				}
			}
			if end < 0 {
				return nil, "", "A quote is not closed."
			}
			arg := strings.TrimSpace(s[j:end])
			if arg == "" {
				return nil, "", "An argument in quotes is empty."
			}
			args = append(args, arg)
			_, closeSize := utf8.DecodeRuneInString(s[end:])
			i = end + closeSize
			continue
		}
		j := i
		for j < len(s) && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		args = append(args, s[i:j])
		i = j
	}
	return args, strings.TrimSpace(s[i:]), ""
}

// unwrapSlackLink turns Slack's automatic formatting of a typed address back into
// what was typed: <mailto:alice@contoso.com|alice@contoso.com> and
// <http://contoso.com|contoso.com>. Only when the label equals the target, so a
// crafted link cannot smuggle in a different value.
func unwrapSlackLink(s string) (string, bool) {
	if !strings.HasPrefix(s, "<") || !strings.HasSuffix(s, ">") {
		return s, true
	}
	inner := s[1 : len(s)-1]
	target, label, hasLabel := strings.Cut(inner, "|")
	target = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(target, "mailto:"), "http://"), "https://")
	if hasLabel && !strings.EqualFold(target, label) {
		return "", false
	}
	return target, true
}

// slackUnescape undoes the entity encoding Slack applies to & < > in typed text.
func slackUnescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

func parseCustomer(arg string) (CustomerRef, string) {
	arg, ok := unwrapSlackLink(arg)
	if !ok {
		return CustomerRef{}, "The customer looks like a link whose text differs from where it points; type the tenant ID, domain or name."
	}
	arg = slackUnescape(arg)
	switch {
	case len(arg) > maxCustomerText:
		return CustomerRef{}, fmt.Sprintf("The customer is too long (limit %d characters).", maxCustomerText)
	case guidRE.MatchString(arg):
		return CustomerRef{Kind: RefID, Value: strings.ToLower(arg)}, ""
	case strings.ContainsAny(arg, "<>@"):
		return CustomerRef{}, "The customer must be a tenant ID, a domain or the start of the company name."
	case strings.Contains(arg, ".") && !strings.Contains(arg, " "):
		if !domainRE.MatchString(arg) || len(arg) > 253 {
			return CustomerRef{}, fmt.Sprintf("`%s` is not a valid domain.", Escape(arg, 100))
		}
		return CustomerRef{Kind: RefDomain, Value: strings.ToLower(arg)}, ""
	default:
		if utf8.RuneCountInString(arg) < 2 {
			return CustomerRef{}, "The company name prefix must be at least 2 characters."
		}
		return CustomerRef{Kind: RefName, Value: arg}, ""
	}
}

func parseUser(arg string) (UserRef, string) {
	arg, ok := unwrapSlackLink(arg)
	if !ok {
		return UserRef{}, "The user looks like a link whose text differs from where it points; type the sign-in name or object ID."
	}
	arg = slackUnescape(arg)
	if guidRE.MatchString(arg) {
		return UserRef{Kind: RefID, Value: strings.ToLower(arg)}, ""
	}
	local, domain, found := strings.Cut(arg, "@")
	bad := func(why string) (UserRef, string) {
		return UserRef{}, fmt.Sprintf("`%s` is not a valid user: %s. Give the user's sign-in name (`alice@contoso.com`) or object ID.", Escape(arg, 120), why)
	}
	switch {
	case !found:
		return bad("it is neither a sign-in name nor an object ID")
	case len(arg) > maxUPN:
		return bad(fmt.Sprintf("a sign-in name has at most %d characters", maxUPN))
	case local == "" || len(local) > maxUPNLocal:
		return bad(fmt.Sprintf("the part before @ must have 1 to %d characters", maxUPNLocal))
	case !upnLocalRE.MatchString(local):
		return bad("the part before @ may only hold letters, digits and ' . - _ ! # ^ ~")
	case strings.HasSuffix(local, ".") || strings.HasPrefix(local, "."):
		return bad("the part before @ cannot start or end with a dot")
	case len(domain) > maxUPNDomain || !domainRE.MatchString(domain):
		return bad("the part after @ is not a valid domain")
	}
	return UserRef{Kind: RefUPN, Value: arg}, ""
}

func parseReason(rest string) (string, string) {
	// Real Slack markup arrives raw (anything typed as < or > arrives as &lt;/&gt;),
	// so a <…> here is a mention, a channel or a link. locksmith refuses it rather
	// than risk re-posting @channel or a disguised link to the approvers.
	if slackMarkupRE.MatchString(rest) {
		return "", "The reason can't contain mentions, channel names or links; give a ticket number or a short description."
	}
	reason := strings.Join(strings.Fields(slackUnescape(rest)), " ")
	if n := utf8.RuneCountInString(reason); n > maxReasonRunes {
		return "", fmt.Sprintf("The reason is too long (%d characters; the limit is %d).", n, maxReasonRunes)
	}
	return reason, ""
}
