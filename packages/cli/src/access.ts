import {
  type ActionRegistry,
  KamihiError,
  type User,
  type UserField,
  type UserService,
  type UserStatus,
} from "@kamihi/core";
import { type Command, InvalidArgumentError, Option } from "commander";
import { type Output, printable, table } from "./output.js";

/** What the user, role and permission commands work on; `kamihi` opens it from the project. */
export interface AccessProject {
  users: UserService;
  actions: ActionRegistry;
  /** Closes what opening the project opened (the store). */
  close(): Promise<void>;
}

/** How the commands reach the project and the terminal. */
export interface AccessCommandsContext {
  /** Opens the project in `root` (settings, actions, store) when a command needs it. */
  open: (root: string) => Promise<AccessProject>;
  stdout: Output;
}

/** A Telegram user id argument: a positive integer, or a usage error naming it. */
export function telegramId(value: string): number {
  if (
    !/^\d{1,16}$/.test(value.trim()) ||
    Number(value) <= 0 ||
    !Number.isSafeInteger(Number(value))
  ) {
    throw new InvalidArgumentError(
      `expected a Telegram user id (a positive integer), got "${value}".`,
    );
  }
  return Number(value);
}

function collect<T>(parse: (value: string) => T) {
  return (value: string, previous: T[] = []) => [...previous, parse(value)];
}

const asText = (value: string) => value;

function yesNo(value: string): boolean {
  const lower = value.trim().toLowerCase();
  if (["true", "yes", "1", "on"].includes(lower)) return true;
  if (["false", "no", "0", "off"].includes(lower)) return false;
  throw new InvalidArgumentError(`expected true or false, got "${value}".`);
}

/** Runs `work` on the opened project, closing it afterwards whatever happens. */
async function withProject(
  context: AccessCommandsContext,
  program: Command,
  work: (project: AccessProject) => Promise<void>,
): Promise<void> {
  const { root } = program.opts<{ root: string }>();
  const project = await context.open(root);
  try {
    await work(project);
  } finally {
    await project.close();
  }
}

function describeUser(user: User): string {
  const name = printable([user.firstName, user.lastName].filter(Boolean).join(" "));
  return `${name} (${user.telegramId})`;
}

/** Custom data from `--data key=value`, typed by the project's user fields. */
function parseData(
  pairs: readonly string[],
  fields: readonly UserField[],
): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      throw new KamihiError("KAMIHI_CLI_USAGE", `--data expects key=value, got "${pair}".`);
    }
    const key = pair.slice(0, eq).trim();
    const raw = pair.slice(eq + 1);
    const field = fields.find((f) => f.name === key);
    if (fields.length > 0 && field === undefined) {
      throw new KamihiError(
        "KAMIHI_CLI_USAGE",
        `--data: the user model has no field "${key}". Fields: ${fields.map((f) => f.name).join(", ")}.`,
      );
    }
    data[key] = coerce(raw, field?.type);
  }
  return data;
}

function coerce(raw: string, type: UserField["type"] | undefined): unknown {
  switch (type) {
    case "integer":
    case "number":
      return /^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$/.test(raw) ? Number(raw) : raw;
    case "boolean":
      return raw === "true" ? true : raw === "false" ? false : raw;
    case "date": {
      const date = new Date(raw);
      return Number.isNaN(date.getTime()) ? raw : date;
    }
    case "list":
      return raw === "" ? [] : raw.split(",").map((item) => item.trim());
    default:
      return raw;
  }
}

function showData(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "string") return printable(value);
  return printable(JSON.stringify(value) ?? "");
}

/** Registers `user`, `role` and `permission` with their subcommands on `program`. */
export function registerAccessCommands(program: Command, context: AccessCommandsContext): void {
  const out = (text: string) => context.stdout.write(text);

  // ---- user ------------------------------------------------------------------------------
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
            ...(opts.data.length > 0 ? { data: parseData(opts.data, users.fields()) } : {}),
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
    .action(
      async (opts: {
        role?: string;
        status?: UserStatus;
        admin?: boolean;
        search?: string;
        json?: boolean;
      }) => {
        await withProject(context, program, async ({ users }) => {
          if (opts.role !== undefined) {
            const roles = await users.listRoles();
            if (!roles.some((role) => role.name === opts.role)) {
              throw new KamihiError(
                "KAMIHI_ROLE_NOT_FOUND",
                `No role named "${opts.role}". Roles: ${roles.map((r) => r.name).join(", ") || "(none)"}.`,
              );
            }
          }
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
          if (opts.json) {
            out(`${json(all)}\n`);
            return;
          }
          const fields = users.fields();
          out(
            table(
              [
                "ID",
                "NAME",
                "USERNAME",
                "STATUS",
                "ADMIN",
                "ROLES",
                ...fields.map((f) => f.name.toUpperCase()),
              ],
              all.map((u) => [
                String(u.telegramId),
                printable([u.firstName, u.lastName].filter(Boolean).join(" ")),
                u.username === undefined ? "" : `@${printable(u.username)}`,
                u.status,
                u.isAdmin ? "yes" : "",
                u.roles.join(", "),
                ...fields.map((f) =>
                  u.data[f.name] === undefined ? "" : showData(u.data[f.name]),
                ),
              ]),
              "No users.",
            ),
          );
        });
      },
    );

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

  // ---- role ------------------------------------------------------------------------------
  const role = program.command("role").description("Add, list and assign roles");

  role
    .command("add")
    .description("Add a role")
    .argument("<name>", "the role's name (letters, digits, _ - .)")
    .option("--description <text>", "what the role is for")
    .action(async (name: string, opts: { description?: string }) => {
      await withProject(context, program, async ({ users }) => {
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

  // ---- permission ------------------------------------------------------------------------
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
        const names = actions.list().map((a) => a.name);
        if (opts.action !== undefined && !names.includes(opts.action)) {
          throw new KamihiError(
            "KAMIHI_PERMISSION_UNKNOWN_ACTION",
            `The bot has no action "${opts.action}". Its actions: ${names.join(", ") || "(none)"}.`,
          );
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
          if (
            actions.get(action) === undefined &&
            !(await users.listPermissions()).some((p) => p.action === action)
          ) {
            throw new KamihiError(
              "KAMIHI_PERMISSION_UNKNOWN_ACTION",
              `The bot has no action "${action}". Its actions: ${
                actions
                  .list()
                  .map((a) => a.name)
                  .join(", ") || "(none)"
              }.`,
            );
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

/** Who may run an action now, in words: public actions stay open to everyone. */
function runBy(
  actions: ActionRegistry,
  action: string,
  users: readonly number[],
  roles: readonly string[],
): string {
  if (actions.get(action)?.public === true) {
    return "is public: everyone may run it (grants matter only if it stops being public)";
  }
  if (users.length + roles.length === 0) return "may now be run by admins only";
  return `may now be run by admins and ${who(users, roles)}`;
}

/** JSON for the terminal: the C1 controls and DEL, which JSON leaves raw, are escaped too. */
function json(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function who(users: readonly number[], roles: readonly string[]): string {
  const parts = [
    ...(roles.length ? [`role${roles.length > 1 ? "s" : ""} ${roles.join(", ")}`] : []),
    ...(users.length ? [`user${users.length > 1 ? "s" : ""} ${users.join(", ")}`] : []),
  ];
  return parts.join(" and ") || "nobody but admins";
}
