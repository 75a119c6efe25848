package commands

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/locksmithbot/locksmith/messages"
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
	// Language is set for "/reset-password language ja|en|auto": the word after
	// "language", as typed (it may be unsupported; the workflow answers that).
	Language *string
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
func Usage(l messages.Lang) string { return texts.Text(l, messages.Usage, nil) }

var (
	guidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainRE = regexp.MustCompile(`^(?i:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.(?i:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?))+$`)
	// Characters Entra allows before the @ of a UPN (docs/partner-center.md §4.2).
	upnLocalRE = regexp.MustCompile(`^[A-Za-z0-9'._!#^~-]+$`)
	// Slack markup: <@U123|name>, <#C123>, <!channel>, <http://x|y>, <mailto:a@b|a@b>.
	slackMarkupRE = regexp.MustCompile(`<[^<>]*>`)
)

// Parse reads the text after /reset-password; answers are in language l. It
// never calls anything: a result with Reply set means "tell the person and do
// nothing else".
func Parse(text string, l messages.Lang) ParseResult {
	if len(text) > maxCommandText {
		return reply(l, messages.ParseTooLong, messages.Data{"Count": utf8.RuneCountInString(text), "Limit": maxCommandText})
	}
	if !utf8.ValidString(text) {
		return reply(l, messages.ParseNotUTF8, nil)
	}
	// Typed text is refused rather than cleaned (see isNeutralised): what
	// locksmith acts on and records is then exactly what the requester sees.
	for _, r := range text {
		if r != ' ' && r != '\t' && isNeutralised(r) {
			return reply(l, messages.ParseControl, messages.Data{"Char": fmt.Sprintf("%U", r)})
		}
	}
	trimmed := strings.TrimSpace(text)
	if trimmed == "" || strings.EqualFold(trimmed, "help") {
		return ParseResult{Reply: Usage(l)}
	}

	if strings.EqualFold(trimmed, "status") {
		return ParseResult{Status: true}
	}
	// "check" unquoted, then a customer and a user, is a dry run. A customer
	// whose name starts with "check" can still be given in quotes.
	check := false
	if word, after, ok := strings.Cut(trimmed, " "); ok && strings.EqualFold(word, "check") {
		if args, rest, _ := splitArgs(after, 2); len(args) == 2 {
			if _, msg := parseUser(l, args[1]); msg == "" {
				if rest != "" {
					return ParseResult{Reply: "`check` takes only the customer and the user: `/reset-password check <customer> <user>`."}
				}
				check, trimmed = true, strings.TrimSpace(after)
			}
		}
	}

	args, rest, problem := splitArgs(trimmed, 2)
	if problem != "" {
		return ParseResult{Reply: texts.Text(l, problem, nil) + "\n\n" + Usage(l)}
	}
	if len(args) >= 1 && strings.EqualFold(args[0], "language") && rest == "" &&
		(len(args) == 1 || !strings.Contains(args[1], "@") && !guidRE.MatchString(args[1])) {
		// "/reset-password language ja": a customer called "language" would
		// need a user (a sign-in name or an object ID) after it, so the two
		// cannot be confused.
		choice := ""
		if len(args) == 2 {
			choice = args[1]
		}
		return ParseResult{Language: &choice}
	}
	if len(args) < 2 {
		return ParseResult{Reply: texts.Text(l, messages.ParseNeedBoth, nil) + "\n\n" + Usage(l)}
	}

	cust, msg := parseCustomer(l, args[0])
	if msg != "" {
		return ParseResult{Reply: msg}
	}
	user, msg := parseUser(l, args[1])
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
	reason, msg := parseReason(l, rest)
	if msg != "" {
		return ParseResult{Reply: msg}
	}
	return ParseResult{Customer: cust, User: user, Reason: reason, Check: check, BreakGlass: breakGlass}
}

func reply(l messages.Lang, id messages.ID, d messages.Data) ParseResult {
	return ParseResult{Reply: texts.Text(l, id, d)}
}

// splitArgs takes the first n arguments (double quotes, including the curly ones
// macOS and iOS substitute as people type, group words) and returns the rest of
// the text untouched. A problem comes back as the ID of a sentence for the
// requester.
func splitArgs(s string, n int) (args []string, rest string, problem messages.ID) {
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
				return nil, "", messages.ParseQuoteOpen
			}
			arg := strings.TrimSpace(s[j:end])
			if arg == "" {
				return nil, "", messages.ParseQuoteEmpty
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

func parseCustomer(l messages.Lang, arg string) (CustomerRef, string) {
	arg, ok := unwrapSlackLink(arg)
	if !ok {
		return CustomerRef{}, texts.Text(l, messages.ParseCustomerLink, nil)
	}
	arg = slackUnescape(arg)
	switch {
	case len(arg) > maxCustomerText:
		return CustomerRef{}, texts.Text(l, messages.ParseCustomerTooLong, messages.Data{"Limit": maxCustomerText})
	case guidRE.MatchString(arg):
		return CustomerRef{Kind: RefID, Value: strings.ToLower(arg)}, ""
	case strings.ContainsAny(arg, "<>@"):
		return CustomerRef{}, texts.Text(l, messages.ParseCustomerShape, nil)
	case strings.Contains(arg, ".") && !strings.Contains(arg, " "):
		if !domainRE.MatchString(arg) || len(arg) > 253 {
			return CustomerRef{}, texts.Text(l, messages.ParseBadDomain, messages.Data{"Domain": Escape(arg, 100)})
		}
		return CustomerRef{Kind: RefDomain, Value: strings.ToLower(arg)}, ""
	default:
		if utf8.RuneCountInString(arg) < 2 {
			return CustomerRef{}, texts.Text(l, messages.ParseNameShort, nil)
		}
		return CustomerRef{Kind: RefName, Value: arg}, ""
	}
}

func parseUser(l messages.Lang, arg string) (UserRef, string) {
	arg, ok := unwrapSlackLink(arg)
	if !ok {
		return UserRef{}, texts.Text(l, messages.ParseUserLink, nil)
	}
	arg = slackUnescape(arg)
	if guidRE.MatchString(arg) {
		return UserRef{Kind: RefID, Value: strings.ToLower(arg)}, ""
	}
	local, domain, found := strings.Cut(arg, "@")
	bad := func(why messages.ID, limit int) (UserRef, string) {
		return UserRef{}, texts.Text(l, messages.ParseBadUser, messages.Data{
			"User": Escape(arg, 120), "Why": texts.Text(l, why, messages.Data{"Limit": limit})})
	}
	switch {
	case !found:
		return bad(messages.ParseUserShape, 0)
	case len(arg) > maxUPN:
		return bad(messages.ParseUserTooLong, maxUPN)
	case local == "" || len(local) > maxUPNLocal:
		return bad(messages.ParseUserLocalLength, maxUPNLocal)
	case !upnLocalRE.MatchString(local):
		return bad(messages.ParseUserLocalChars, 0)
	case strings.HasSuffix(local, ".") || strings.HasPrefix(local, "."):
		return bad(messages.ParseUserLocalDot, 0)
	case len(domain) > maxUPNDomain || !domainRE.MatchString(domain):
		return bad(messages.ParseUserDomain, 0)
	}
	return UserRef{Kind: RefUPN, Value: arg}, ""
}

func parseReason(l messages.Lang, rest string) (string, string) {
	// Real Slack markup arrives raw (anything typed as < or > arrives as &lt;/&gt;),
	// so a <…> here is a mention, a channel or a link. locksmith refuses it rather
	// than risk re-posting @channel or a disguised link to the approvers.
	if slackMarkupRE.MatchString(rest) {
		return "", texts.Text(l, messages.ParseReasonMarkup, nil)
	}
	reason := strings.Join(strings.Fields(slackUnescape(rest)), " ")
	if n := utf8.RuneCountInString(reason); n > maxReasonRunes {
		return "", texts.Text(l, messages.ParseReasonTooLong, messages.Data{"Count": n, "Limit": maxReasonRunes})
	}
	return reason, ""
}
