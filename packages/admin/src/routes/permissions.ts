import type { ActionInfo, User } from "@kamihi/core";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import * as v from "valibot";
import { flashOf, formErrorsOf } from "../kit/form-errors.js";
import { fmt } from "../kit/format.js";
import {
  checkboxes,
  type FormState,
  formFields,
  parseForm,
  refuseForm,
  telegramIdField,
  telegramIdParam,
} from "../kit/forms.js";
import type { PageOptions } from "../kit/kit.js";

/**
 * One cell of the matrix: `role:action`. Role names cannot hold a `:`, so the first one splits
 * the two whatever the action is called.
 */
const CELL = /^([^:]{1,64}):(.{1,200})$/s;

const MatrixForm = v.object({
  /** Every cell the page showed: only these change (a role added meanwhile keeps its grants). */
  cells: checkboxes,
  /** The ticked cells. */
  grant: checkboxes,
});

const UserGrantForm = v.object({ telegramId: telegramIdField });

type ActionParams = { Params: { action: string } };

/** The per-user form of one action, when it is shown again with an error. */
interface UserGrantState extends FormState {
  action: string;
}

/**
 * `/permissions`: which roles may run which action (one form for the whole matrix), and the
 * users granted an action one by one.
 */
export const permissionPages: FastifyPluginAsync<PageOptions> = async (app, { kit }) => {
  const grantable = () => kit.actions.list().filter((action) => !action.public);

  const showPermissions = async (
    request: FastifyRequest,
    reply: FastifyReply,
    userForm?: UserGrantState,
  ) => {
    const [roles, permissions] = await Promise.all([
      kit.users.listRoles(),
      kit.users.listPermissions(),
    ]);
    const byAction = new Map(permissions.map((p) => [p.action, p]));
    const ids = [...new Set(permissions.flatMap((p) => p.users))];
    const known = new Map<number, User>();
    for (const user of await Promise.all(ids.map((id) => kit.users.getUser(id)))) {
      if (user !== null) known.set(user.telegramId, user);
    }
    const actions = kit.actions.list().map((action) => {
      const permission = byAction.get(action.name);
      return {
        ...action,
        roles: permission?.roles ?? [],
        users: (permission?.users ?? []).map((id) => ({ telegramId: id, user: known.get(id) })),
      };
    });
    const registered = new Set(actions.map((a) => a.name));
    return kit.render(request, reply, "permissions.eta", "Permissions", {
      fmt,
      roles,
      actions,
      userForm,
      stale: permissions.filter((p) => !registered.has(p.action)).map((p) => p.action),
    });
  };

  app.get("/permissions", (request, reply) => showPermissions(request, reply));

  app.post("/permissions", async (request, reply) => {
    const form = formFields(request.body);
    const parsed = form === undefined ? undefined : parseForm(MatrixForm, form);
    if (parsed === undefined || !parsed.ok) return refuseForm(kit, request, reply);
    const cells = parsed.value.cells.map((cell) => CELL.exec(cell));
    if (cells.some((cell) => cell === null)) return refuseForm(kit, request, reply);
    const ticked = new Set(parsed.value.grant);
    const actions = new Map(grantable().map((action) => [action.name, action]));
    const roles = new Set((await kit.users.listRoles()).map((role) => role.name));
    const current = new Map((await kit.users.listPermissions()).map((p) => [p.action, p]));

    const changes = new Map<string, { grant: string[]; revoke: string[] }>();
    for (const match of cells) {
      const [cell, role = "", action = ""] = match ?? [];
      // A role deleted or an action gone since the page was shown: nothing to change there.
      if (cell === undefined || !actions.has(action) || !roles.has(role)) continue;
      const want = ticked.has(cell);
      const has = current.get(action)?.roles.includes(role) === true;
      if (want === has) continue;
      const change = changes.get(action) ?? { grant: [], revoke: [] };
      (want ? change.grant : change.revoke).push(role);
      changes.set(action, change);
    }

    const said: string[] = [];
    try {
      for (const [action, change] of changes) {
        if (change.grant.length > 0) {
          await kit.users.grant(action, { roles: change.grant });
          await kit.audit(request, "permission.grant", action, `roles: ${change.grant.join(", ")}`);
          said.push(`${change.grant.join(", ")} may run ${action}`);
        }
        if (change.revoke.length > 0) {
          await kit.users.revoke(action, { roles: change.revoke });
          await kit.audit(
            request,
            "permission.revoke",
            action,
            `roles: ${change.revoke.join(", ")}`,
          );
          said.push(`${change.revoke.join(", ")} may no longer run ${action}`);
        }
      }
    } catch (error) {
      return kit.redirect(reply, "/permissions", flashOf(error));
    }
    return kit.redirect(reply, "/permissions", {
      kind: "ok",
      text: said.length === 0 ? "Nothing changed." : `Saved: ${said.join("; ")}.`,
    });
  });

  /** The grantable action of `/permissions/:action…`, or `undefined` after answering 404. */
  async function actionOf(
    request: FastifyRequest<ActionParams>,
    reply: FastifyReply,
  ): Promise<ActionInfo | undefined> {
    const action = kit.actions.get(request.params.action);
    if (action === undefined || action.public) {
      await kit.render(request, reply.code(404), "error.eta", "Not found", {
        message: "The bot has no such action, or everyone may run it (nothing to grant).",
      });
      return undefined;
    }
    return action;
  }

  app.post<ActionParams>("/permissions/:action/users", async (request, reply) => {
    const action = await actionOf(request, reply);
    if (action === undefined) return reply;
    const form = formFields(request.body);
    if (form === undefined) return refuseForm(kit, request, reply);
    const parsed = parseForm(UserGrantForm, form);
    if (!parsed.ok) {
      return showPermissions(request, reply.code(400), {
        action: action.name,
        values: form,
        errors: parsed.errors,
      });
    }
    const again = (state: Pick<FormState, "errors" | "formError">) =>
      showPermissions(request, reply.code(400), { action: action.name, values: form, ...state });
    const user = await kit.users.getUser(parsed.value.telegramId);
    if (user === null) {
      return again({
        errors: {
          telegramId: `No user has the Telegram id ${parsed.value.telegramId}; add them on the Users page first.`,
        },
      });
    }
    try {
      await kit.users.grant(action.name, { users: [user.telegramId] });
    } catch (error) {
      const state = formErrorsOf(error, { KAMIHI_USER_NOT_FOUND: "telegramId" });
      if (state === undefined) throw error;
      return again(state);
    }
    await kit.audit(
      request,
      "permission.grant",
      action.name,
      `user ${fmt.name(user)} (${user.telegramId})`,
    );
    return kit.redirect(reply, `/permissions#action-${fmt.segment(action.name)}`, {
      kind: "ok",
      text: `${fmt.name(user)} may run ${action.name} now.`,
    });
  });

  app.post<{ Params: { action: string; id: string } }>(
    "/permissions/:action/users/:id/remove",
    async (request, reply) => {
      const action = await actionOf(request, reply);
      if (action === undefined) return reply;
      const id = telegramIdParam(request.params.id);
      if (id === undefined) {
        reply.callNotFound();
        return reply;
      }
      const user = await kit.users.getUser(id);
      const who = user === null ? `user ${id}` : `${fmt.name(user)} (${id})`;
      try {
        await kit.users.revoke(action.name, { users: [id] });
      } catch (error) {
        return kit.redirect(reply, "/permissions", flashOf(error));
      }
      await kit.audit(request, "permission.revoke", action.name, `user ${who}`);
      return kit.redirect(reply, `/permissions#action-${fmt.segment(action.name)}`, {
        kind: "ok",
        text: `${user === null ? `User ${id}` : fmt.name(user)} may no longer run ${action.name} by their own grant.`,
      });
    },
  );
};
