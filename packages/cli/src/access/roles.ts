import { KamihiError } from "@kamihi/core";
import type { Command } from "commander";
import { printable, table } from "../output.js";
import { telegramId } from "./arguments.js";
import { type AccessCommandsContext, withProject } from "./context.js";
import { describeUser, json } from "./display.js";

/** `kamihi role add|remove|list|assign|unassign`. */
export function registerRoleCommands(program: Command, context: AccessCommandsContext): void {
  const out = (text: string) => context.stdout.write(text);
  const role = program.command("role").description("Add, list and assign roles");

  role
    .command("add")
    .description("Add a role")
    .argument("<name>", "the role's name (letters, digits, _ - .)")
    .option("--description <text>", "what the role is for")
    .action(async (name: string, opts: { description?: string }) => {
      await withProject(context, program, async ({ users }) => {
        // The user service checks the name and that no role has it yet; its error says why.
        const created = await users.createRole({
          name,
          ...(opts.description === undefined ? {} : { description: opts.description }),
        });
        out(`Added role ${created.name}.\n`);
      });
    });

  role
    .command("remove")
    .description("Remove a role (from its members and permissions too)")
    .argument("<name>", "the role's name")
    .action(async (name: string) => {
      await withProject(context, program, async ({ users }) => {
        if (!(await users.deleteRole(name))) {
          const roles = (await users.listRoles()).map((r) => r.name);
          throw new KamihiError(
            "KAMIHI_ROLE_NOT_FOUND",
            `No role named "${name}". Roles: ${roles.join(", ") || "(none)"}.`,
          );
        }
        out(`Removed role ${name.trim()}.\n`);
      });
    });

  role
    .command("list")
    .description("List roles with their member counts")
    .option("--json", "print JSON instead of a table")
    .action(async (opts: { json?: boolean }) => {
      await withProject(context, program, async ({ users }) => {
        const roles = await users.listRoles();
        const counted = await Promise.all(
          roles.map(async (r) => ({
            ...r,
            members: (await users.listUsers({ role: r.name, limit: 1 })).total,
          })),
        );
        if (opts.json) {
          out(`${json(counted)}\n`);
          return;
        }
        out(
          table(
            ["ROLE", "MEMBERS", "DESCRIPTION"],
            counted.map((r) => [r.name, String(r.members), printable(r.description ?? "")]),
            "No roles yet; add one with `kamihi role add <name>`.",
          ),
        );
      });
    });

  for (const [name, verb] of [
    ["assign", "Give a user a role"],
    ["unassign", "Take a role off a user"],
  ] as const) {
    role
      .command(name)
      .description(verb)
      .argument("<role>", "the role's name")
      .argument("<telegramId>", "the user's Telegram id", telegramId)
      .action(async (roleName: string, id: number) => {
        await withProject(context, program, async ({ users }) => {
          const updated =
            name === "assign"
              ? await users.assignRole(roleName, id)
              : await users.unassignRole(roleName, id);
          out(`${describeUser(updated)} now has roles: ${updated.roles.join(", ") || "(none)"}.\n`);
        });
      });
  }
}
