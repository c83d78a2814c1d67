package bot

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/dostyq/dostyq/locales"
)

// CommandRequester makes a Bot API call whose result is not a message
// (setMyCommands, deleteMyCommands). *tgbotapi.BotAPI is one.
type CommandRequester interface {
	Request(c tgbotapi.Chattable) (*tgbotapi.APIResponse, error)
}

// Translator formats a message id in a language (*locales.Catalog).
type Translator interface {
	T(lang, id string, data map[string]any) string
}

// Staff roles that add commands to a user's own command menu.
const (
	RoleMediator    = "mediator"
	RoleCoordinator = "coordinator"
	RoleAdmin       = "admin"
)

// A CommandMenu is what Telegram shows under the "/" button: the commands of
// every user, and those each staff role adds in its holder's own chat. The
// description of command "name" is the message "cmd.name"
// (locales/commands.*.toml).
type CommandMenu struct {
	Everyone []string
	Roles    map[string][]string
}

// DefaultCommandMenu is the bot's full command menu.
func DefaultCommandMenu() CommandMenu {
	return CommandMenu{
		Everyone: []string{"start", "help", "about", "language", "cancel",
			"cases", "requests", "myevents", "mydata", "forget"},
		Roles: map[string][]string{
			RoleMediator:    {"profile", "duty"},
			RoleCoordinator: {"profile", "duty", "newevent", "events"},
			RoleAdmin:       {"invite", "mediators", "coordinators", "case", "stats", "audit"},
		},
	}
}

// Only keeps the commands for which known is true, so the menu never lists
// a command the bot does not answer yet.
func (m CommandMenu) Only(known func(name string) bool) CommandMenu {
	keep := func(names []string) []string {
		var out []string
		for _, n := range names {
			if known(n) {
				out = append(out, n)
			}
		}
		return out
	}
	out := CommandMenu{Everyone: keep(m.Everyone), Roles: map[string][]string{}}
	for role, names := range m.Roles {
		out.Roles[role] = keep(names)
	}
	return out
}

// commands lists the menu of a user holding roles, described in lang:
// everyone's commands, then each role's in the order given, once each.
func (m CommandMenu) commands(tr Translator, lang string, roles []string) []tgbotapi.BotCommand {
	var out []tgbotapi.BotCommand
	for _, n := range m.Everyone {
		out = append(out, tgbotapi.BotCommand{Command: n, Description: tr.T(lang, "cmd."+n, nil)})
	}
	return append(out, m.RoleCommands(tr, lang, roles)...)
}

// RoleCommands lists, described in lang, the commands roles add to
// everyone's, in the order given, once each (/help shows them to staff).
func (m CommandMenu) RoleCommands(tr Translator, lang string, roles []string) []tgbotapi.BotCommand {
	seen := map[string]bool{}
	for _, n := range m.Everyone {
		seen[n] = true
	}
	var out []tgbotapi.BotCommand
	for _, r := range roles {
		for _, n := range m.Roles[r] {
			if !seen[n] {
				seen[n] = true
				out = append(out, tgbotapi.BotCommand{Command: n, Description: tr.T(lang, "cmd."+n, nil)})
			}
		}
	}
	return out
}

// SetCommands registers everyone's command menu: for clients in Kazakh,
// Russian and English (language_code), and for every other client in
// Kazakh (no language_code).
func SetCommands(ctx context.Context, api CommandRequester, tr Translator, menu CommandMenu) error {
	scope := tgbotapi.NewBotCommandScopeDefault()
	return setScope(ctx, api, tr, menu, scope, nil)
}

// SetChatCommands gives the private chat chatID of a user holding roles
// their own menu: everyone's commands plus those of their roles. Call it
// when a user's roles change; with no roles left it deletes the chat's own
// menu, so the user sees everyone's again.
func SetChatCommands(ctx context.Context, api CommandRequester, tr Translator, menu CommandMenu, chatID int64, roles ...string) error {
	if len(roles) == 0 {
		return DeleteChatCommands(ctx, api, chatID)
	}
	return setScope(ctx, api, tr, menu, tgbotapi.NewBotCommandScopeChat(chatID), roles)
}

// DeleteChatCommands removes the menu of chatID set by SetChatCommands.
func DeleteChatCommands(ctx context.Context, api CommandRequester, chatID int64) error {
	scope := tgbotapi.NewBotCommandScopeChat(chatID)
	configs := []tgbotapi.Chattable{tgbotapi.NewDeleteMyCommandsWithScope(scope)}
	for _, lang := range locales.Supported {
		configs = append(configs, tgbotapi.NewDeleteMyCommandsWithScopeAndLanguage(scope, lang))
	}
	return request(ctx, api, "deleteMyCommands", configs)
}

// setScope sets the menu of scope without a language code (in Kazakh) and
// for each supported language, so that Telegram picks the user's client
// language, as for everyone's menu.
func setScope(ctx context.Context, api CommandRequester, tr Translator, menu CommandMenu, scope tgbotapi.BotCommandScope, roles []string) error {
	configs := []tgbotapi.Chattable{
		tgbotapi.NewSetMyCommandsWithScope(scope, menu.commands(tr, locales.Default, roles)...),
	}
	for _, lang := range locales.Supported {
		configs = append(configs, tgbotapi.NewSetMyCommandsWithScopeAndLanguage(scope, lang, menu.commands(tr, lang, roles)...))
	}
	return request(ctx, api, "setMyCommands", configs)
}

func request(ctx context.Context, api CommandRequester, method string, configs []tgbotapi.Chattable) error {
	for _, c := range configs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := api.Request(c); err != nil {
			return fmt.Errorf("%s: %w", method, commandRequestError(err))
		}
	}
	return nil
}

// commandRequestError drops the request URL from a network error: tgbotapi puts the
// bot token in it.
func commandRequestError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// ChatMenus sets the own command menu of staff users' chats; the handlers
// call SetRoles when a user's roles change (an invite accepted, a role
// removed) with every role the user still holds.
type ChatMenus struct {
	API        CommandRequester
	Translator Translator
	Menu       CommandMenu
}

// SetRoles gives chatID the menu of roles, or everyone's menu when roles is empty.
func (c ChatMenus) SetRoles(ctx context.Context, chatID int64, roles ...string) error {
	return SetChatCommands(ctx, c.API, c.Translator, c.Menu, chatID, roles...)
}
