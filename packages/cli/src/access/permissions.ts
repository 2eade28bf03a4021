import { type ActionRegistry, KamihiError } from "@kamihi/core";
import type { Command } from "commander";
import { table } from "../output.js";
import { asText, collect, telegramId } from "./arguments.js";
import { type AccessCommandsContext, withProject } from "./context.js";
import { json, runBy, who } from "./display.js";

/** `kamihi permission add|list|remove`. */
export function registerPermissionCommands(program: Command, context: AccessCommandsContext): void {
  const out = (text: string) => context.stdout.write(text);
  const permission = program.command("permission").description("Say who may run which action");

  permission
    .command("add")
    .description("Let users and roles run an action")
    .argument("<action>", "the action's name (see `kamihi permission list`)")
    .option("--user <telegramId>", "a user (repeatable)", collect(telegramId), [])
    .option("--role <role>", "a role (repeatable)", collect(asText), [])
    .action(async (action: string, opts: { user: number[]; role: string[] }) => {
      if (opts.user.length === 0 && opts.role.length === 0) {
        throw new KamihiError(
          "KAMIHI_CLI_USAGE",
          "permission add needs at least one --user <telegramId> or --role <role>.",
        );
      }
      await withProject(context, program, async ({ users, actions }) => {
        const granted = await users.grant(action, { users: opts.user, roles: opts.role });
        out(`${action} ${runBy(actions, action, granted.users, granted.roles)}.\n`);
      });
    });

  permission
    .command("list")
    .description("List every action with who may run it")
    .option("--action <action>", "only this action")
    .option("--json", "print JSON instead of a table")
    .action(async (opts: { action?: string; json?: boolean }) => {
      await withProject(context, program, async ({ users, actions }) => {
        if (opts.action !== undefined && !actions.list().some((a) => a.name === opts.action)) {
          throw unknownAction(actions, opts.action);
        }
        const granted = new Map((await users.listPermissions()).map((p) => [p.action, p]));
        const rows = actions
          .list()
          .filter((a) => opts.action === undefined || a.name === opts.action)
          .map((a) => ({
            action: a.name,
            commands: a.commands.map((c) => `/${c}`),
            public: a.public,
            users: granted.get(a.name)?.users ?? [],
            roles: granted.get(a.name)?.roles ?? [],
          }));
        if (opts.json) {
          out(`${json(rows)}\n`);
          return;
        }
        out(
          table(
            ["ACTION", "COMMANDS", "WHO MAY RUN IT"],
            rows.map((r) => [
              r.action,
              r.commands.join(" "),
              r.public
                ? "everyone (public)"
                : r.users.length + r.roles.length === 0
                  ? "admins only"
                  : `admins, ${who(r.users, r.roles)}`,
            ]),
            "The bot has no actions.",
          ),
        );
      });
    });

  permission
    .command("remove")
    .description("Stop users and roles from running an action (all of them without --user/--role)")
    .argument("<action>", "the action's name")
    .option("--user <telegramId>", "a user (repeatable)", collect(telegramId), [])
    .option("--role <role>", "a role (repeatable)", collect(asText), [])
    .action(async (action: string, opts: { user: number[]; role: string[] }) => {
      await withProject(context, program, async ({ users, actions }) => {
        if (opts.user.length === 0 && opts.role.length === 0) {
          // A grant left behind by an action that was since removed can still be cleared.
          if (
            actions.get(action) === undefined &&
            !(await users.listPermissions()).some((p) => p.action === action)
          ) {
            throw unknownAction(actions, action);
          }
          await users.removePermission(action);
          out(`${action} ${runBy(actions, action, [], [])}.\n`);
          return;
        }
        const left = await users.revoke(action, { users: opts.user, roles: opts.role });
        out(`${action} ${runBy(actions, action, left.users, left.roles)}.\n`);
      });
    });
}

function unknownAction(actions: ActionRegistry, action: string): KamihiError {
  return new KamihiError(
    "KAMIHI_PERMISSION_UNKNOWN_ACTION",
    `The bot has no action "${action}". Its actions: ${
      actions
        .list()
        .map((a) => a.name)
        .join(", ") || "(none)"
    }.`,
  );
}
