import { KamihiError, type User, type UserService, type UserStatus } from "@kamihi/core";
import { type Command, Option } from "commander";
import { printable, table } from "../output.js";
import { asText, collect, telegramId, yesNo } from "./arguments.js";
import { type AccessCommandsContext, withProject } from "./context.js";
import { describeUser, fullName, json, showData } from "./display.js";
import { parseUserData } from "./user-data.js";

/** `kamihi user add|list|fields|remove|set-admin|block|unblock`. */
export function registerUserCommands(program: Command, context: AccessCommandsContext): void {
  const out = (text: string) => context.stdout.write(text);
  const user = program.command("user").description("Add, list, change and remove users");

  user
    .command("add")
    .description("Add a user by Telegram id (their name is filled in when they first write)")
    .argument("<telegramId>", "the user's Telegram id", telegramId)
    .option("--admin", "make them an admin (may run everything and use the web admin)")
    .option("--role <role>", "give them a role (repeatable)", collect(asText), [])
    .option("--name <name>", "their first name until Telegram tells")
    .option("--username <username>", "their Telegram username")
    .option(
      "--data <key=value>",
      "a custom field of the user model (repeatable)",
      collect(asText),
      [],
    )
    .action(
      async (
        id: number,
        opts: { admin?: boolean; role: string[]; name?: string; username?: string; data: string[] },
      ) => {
        await withProject(context, program, async ({ users }) => {
          const created = await users.createUser({
            telegramId: id,
            firstName: opts.name ?? `User ${id}`,
            ...(opts.username === undefined ? {} : { username: opts.username }),
            isAdmin: opts.admin === true,
            roles: opts.role,
            ...(opts.data.length > 0 ? { data: parseUserData(opts.data, users.fields()) } : {}),
          });
          out(
            `Added ${describeUser(created)}${created.isAdmin ? " as an admin" : ""}${created.roles.length ? ` with roles ${created.roles.join(", ")}` : ""}.\n`,
          );
        });
      },
    );

  user
    .command("list")
    .description("List users (with the project's custom fields)")
    .option("--role <role>", "only users with this role")
    .addOption(
      new Option("--status <status>", "only users with this status").choices([
        "active",
        "blocked",
        "pending",
      ]),
    )
    .option("--admin", "only admins")
    .option("--search <text>", "names or username containing this text, or a Telegram id")
    .option("--json", "print JSON (one array) instead of a table")
    .action(async (opts: UserListOptions) => {
      await withProject(context, program, async ({ users }) => {
        if (opts.role !== undefined) await assertRoleExists(users, opts.role);
        const all = await listAllUsers(users, opts);
        out(opts.json ? `${json(all)}\n` : userTable(all, users));
      });
    });

  user
    .command("fields")
    .description("List the custom user fields of the project's user model (models/user.ts)")
    .action(async () => {
      await withProject(context, program, async ({ users }) => {
        const fields = users.fields();
        out(
          table(
            ["FIELD", "TYPE", "REQUIRED", "OPTIONS"],
            fields.map((f) => [
              f.name,
              f.type,
              f.optional ? "no" : "yes",
              (f.options ?? []).join(", "),
            ]),
            "The project has no custom user fields (add models/user.ts to declare some).",
          ),
        );
      });
    });

  user
    .command("remove")
    .description("Remove a user (and their grants)")
    .argument("<telegramId>", "the user's Telegram id", telegramId)
    .action(async (id: number) => {
      await withProject(context, program, async ({ users }) => {
        if (!(await users.deleteUser(id))) {
          throw new KamihiError(
            "KAMIHI_USER_NOT_FOUND",
            `No user with Telegram id ${id}; \`kamihi user list\` shows the users there are.`,
          );
        }
        out(`Removed user ${id}.\n`);
      });
    });

  user
    .command("set-admin")
    .description("Make a user an admin, or not")
    .argument("<telegramId>", "the user's Telegram id", telegramId)
    .argument("<admin>", "true or false", yesNo)
    .action(async (id: number, admin: boolean) => {
      await withProject(context, program, async ({ users }) => {
        const updated = await users.updateUser(id, { isAdmin: admin });
        out(`${describeUser(updated)} is ${admin ? "now an admin" : "no longer an admin"}.\n`);
      });
    });

  for (const [name, status, done] of [
    ["block", "blocked", "is blocked: the bot ignores them"],
    ["unblock", "active", "is active again"],
  ] as const) {
    user
      .command(name)
      .description(
        name === "block"
          ? "Block a user: the bot ignores them"
          : "Unblock a user (or approve a pending one)",
      )
      .argument("<telegramId>", "the user's Telegram id", telegramId)
      .action(async (id: number) => {
        await withProject(context, program, async ({ users }) => {
          const updated = await users.updateUser(id, { status });
          out(`${describeUser(updated)} ${done}.\n`);
        });
      });
  }
}

/** The filters of `kamihi user list`. */
interface UserListOptions {
  role?: string;
  status?: UserStatus;
  admin?: boolean;
  search?: string;
  json?: boolean;
}

/** A filter on a role that does not exist would list nobody; say so instead. */
async function assertRoleExists(users: UserService, name: string): Promise<void> {
  const roles = await users.listRoles();
  if (!roles.some((role) => role.name === name)) {
    throw new KamihiError(
      "KAMIHI_ROLE_NOT_FOUND",
      `No role named "${name}". Roles: ${roles.map((r) => r.name).join(", ") || "(none)"}.`,
    );
  }
}

/** Every user the filters match, read page by page. */
async function listAllUsers(users: UserService, opts: UserListOptions): Promise<User[]> {
  const all: User[] = [];
  let after: string | undefined;
  do {
    const page = await users.listUsers({
      limit: 500,
      ...(opts.role === undefined ? {} : { role: opts.role }),
      ...(opts.status === undefined ? {} : { status: opts.status }),
      ...(opts.admin ? { isAdmin: true } : {}),
      ...(opts.search === undefined ? {} : { search: opts.search }),
      ...(after === undefined ? {} : { after }),
    });
    all.push(...page.users);
    after = page.next;
  } while (after !== undefined);
  return all;
}

/** The users as a table, one column per custom field of the project's user model. */
function userTable(list: readonly User[], users: UserService): string {
  const fields = users.fields();
  return table(
    [
      "ID",
      "NAME",
      "USERNAME",
      "STATUS",
      "ADMIN",
      "ROLES",
      ...fields.map((f) => f.name.toUpperCase()),
    ],
    list.map((u) => [
      String(u.telegramId),
      fullName(u),
      u.username === undefined ? "" : `@${printable(u.username)}`,
      u.status,
      u.isAdmin ? "yes" : "",
      u.roles.join(", "),
      ...fields.map((f) => (u.data[f.name] === undefined ? "" : showData(u.data[f.name]))),
    ]),
    "No users.",
  );
}
