import { isKamihiError, type User } from "@kamihi/core";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import * as v from "valibot";
import { flashOf, formErrorsOf } from "../kit/form-errors.js";
import { fmt } from "../kit/format.js";
import {
  afterCursor,
  checkbox,
  checkboxes,
  type FieldErrors,
  type FormState,
  formFields,
  optionalText,
  parseForm,
  refuseForm,
  requiredText,
  telegramIdField,
  telegramIdParam,
} from "../kit/forms.js";
import type { PageOptions } from "../kit/kit.js";
import { readCustomFields, valuesOf } from "./custom-fields.js";

const PAGE_SIZE = 50;
/**
 * The list counts its matches up to here and then says "more than": an exact count passes
 * over every match, which a list of 100,000 users pays on every page.
 */
const COUNT_UP_TO = 1000;
const STATUSES = ["active", "blocked", "pending"] as const;

const ListQuery = v.object({
  search: optionalText(100),
  role: optionalText(64),
  status: v.optional(v.picklist(["", ...STATUSES], "Pick a status from the list."), ""),
  admins: checkbox,
  after: afterCursor,
});

const ProfileFields = {
  firstName: requiredText(64, "Enter a first name."),
  lastName: optionalText(64),
  username: v.pipe(
    optionalText(33),
    v.transform((value) => value.replace(/^@/, "")),
    v.regex(/^$|^[A-Za-z0-9_]{1,32}$/, "A username has letters, digits and _ only."),
  ),
  isAdmin: checkbox,
  roles: checkboxes,
};

const NewUserForm = v.object({ telegramId: telegramIdField, ...ProfileFields });
const EditUserForm = v.object(ProfileFields);

/**
 * `/users`: the list (search, filters, cursor pages), adding, editing, blocking, admin rights
 * and deleting (after a confirmation page).
 */
export const userPages: FastifyPluginAsync<PageOptions> = async (app, { kit }) => {
  app.get("/users", async (request, reply) => {
    const fields = formFields(request.query);
    if (fields === undefined) return refuseForm(kit, request, reply);
    const parsed = parseForm(ListQuery, fields);
    if (!parsed.ok) {
      return kit.render(request, reply.code(400), "error.eta", "Bad request", {
        message: Object.values(parsed.errors).join(" "),
      });
    }
    const query = parsed.value;
    const [page, roles] = await Promise.all([
      kit.users.listUsers({
        ...(query.search ? { search: query.search } : {}),
        ...(query.role ? { role: query.role } : {}),
        ...(query.status ? { status: query.status } : {}),
        ...(query.admins ? { isAdmin: true } : {}),
        ...(query.after ? { after: query.after } : {}),
        limit: PAGE_SIZE,
        countUpTo: COUNT_UP_TO,
      }),
      kit.users.listRoles(),
    ]);
    const filters = new URLSearchParams();
    if (query.search) filters.set("search", query.search);
    if (query.role) filters.set("role", query.role);
    if (query.status) filters.set("status", query.status);
    if (query.admins) filters.set("admins", "1");
    const nextLink =
      page.next === undefined
        ? undefined
        : `/users?${new URLSearchParams([...filters, ["after", page.next]]).toString()}`;
    const firstLink = query.after ? `/users${filters.size > 0 ? `?${filters}` : ""}` : undefined;
    return kit.render(request, reply, "users.eta", "Users", {
      fmt,
      query,
      filtered: filters.size > 0,
      page,
      roles,
      fields: kit.users.fields(),
      nextLink,
      firstLink,
    });
  });

  // ---- adding ------------------------------------------------------------------------------

  const showNew = async (
    request: FastifyRequest,
    reply: FastifyReply,
    form: FormState = { values: {}, errors: {} },
  ) =>
    kit.render(request, reply, "user-new.eta", "New user", {
      form,
      roles: await kit.users.listRoles(),
      fields: kit.users.fields(),
    });

  app.get("/users/new", (request, reply) => showNew(request, reply));

  app.post("/users", async (request, reply) => {
    const form = formFields(request.body);
    if (form === undefined) return refuseForm(kit, request, reply);
    const parsed = parseForm(NewUserForm, form);
    const custom = readCustomFields(kit.users.fields(), form, {});
    const again = (state: Pick<FormState, "errors" | "formError">) =>
      showNew(request, reply.code(400), { values: form, ...state });
    if (!parsed.ok || hasErrors(custom.errors)) {
      return again({ errors: { ...custom.errors, ...(parsed.ok ? {} : parsed.errors) } });
    }
    const input = parsed.value;
    let user: User;
    try {
      user = await kit.users.createUser({
        telegramId: input.telegramId,
        firstName: input.firstName,
        ...(input.lastName ? { lastName: input.lastName } : {}),
        ...(input.username ? { username: input.username } : {}),
        isAdmin: input.isAdmin,
        roles: input.roles,
        data: custom.data,
      });
    } catch (error) {
      const state = formErrorsOf(error, {
        KAMIHI_USER_EXISTS: "telegramId",
        KAMIHI_ROLE_NOT_FOUND: "roles",
        KAMIHI_ROLE_INVALID_NAME: "roles",
      });
      if (state === undefined) throw error;
      return again(state);
    }
    await kit.audit(request, "user.create", String(user.telegramId), fmt.name(user));
    return kit.redirect(reply, `/users/${user.telegramId}`, {
      kind: "ok",
      text: `${fmt.name(user)} was added${user.isAdmin ? " as an admin" : ""}.`,
    });
  });

  // ---- one user ----------------------------------------------------------------------------

  /** The user of `/users/:id…`, or `undefined` after answering 404. */
  async function userOf(request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) {
    const id = telegramIdParam(request.params.id);
    const user = id === undefined ? null : await kit.users.getUser(id);
    if (user === null) {
      await kit.render(request, reply.code(404), "error.eta", "Not found", {
        message: "There is no user with this Telegram id; they may have been deleted.",
      });
      return undefined;
    }
    return user;
  }

  const showUser = async (
    request: FastifyRequest,
    reply: FastifyReply,
    user: User,
    form?: FormState,
  ) =>
    kit.render(request, reply, "user.eta", fmt.name(user), {
      fmt,
      user,
      self: request.admin?.user.telegramId === user.telegramId,
      form: form ?? { values: valuesOf(user, kit.users.fields()), errors: {} },
      roles: await kit.users.listRoles(),
      fields: kit.users.fields(),
      allowed: await kit.users.allowedActions(user),
    });

  app.get<{ Params: { id: string } }>("/users/:id", async (request, reply) => {
    const user = await userOf(request, reply);
    if (user === undefined) return reply;
    return showUser(request, reply, user);
  });

  app.post<{ Params: { id: string } }>("/users/:id", async (request, reply) => {
    const user = await userOf(request, reply);
    if (user === undefined) return reply;
    const form = formFields(request.body);
    if (form === undefined) return refuseForm(kit, request, reply);
    const parsed = parseForm(EditUserForm, form);
    const custom = readCustomFields(kit.users.fields(), form, user.data);
    const again = (state: Pick<FormState, "errors" | "formError">) =>
      showUser(request, reply.code(400), user, { values: form, ...state });
    if (!parsed.ok || hasErrors(custom.errors)) {
      return again({ errors: { ...custom.errors, ...(parsed.ok ? {} : parsed.errors) } });
    }
    const input = parsed.value;
    // An admin never takes their own rights away by saving their profile: they would be locked out.
    const self = request.admin?.user.telegramId === user.telegramId;
    let saved: User;
    try {
      saved = await kit.users.updateUser(user.telegramId, {
        firstName: input.firstName,
        lastName: input.lastName || undefined,
        username: input.username || undefined,
        isAdmin: self ? user.isAdmin : input.isAdmin,
        roles: input.roles,
        data: custom.data,
      });
    } catch (error) {
      const state = formErrorsOf(error, {
        KAMIHI_ROLE_NOT_FOUND: "roles",
        KAMIHI_ROLE_INVALID_NAME: "roles",
      });
      if (state === undefined) throw error;
      if (isGone(error)) return kit.redirect(reply, "/users", flashOf(error));
      return again(state);
    }
    await kit.endSessionsUnlessAdmin(saved.telegramId, saved);
    await kit.audit(request, "user.update", String(saved.telegramId), fmt.name(saved));
    return kit.redirect(reply, `/users/${saved.telegramId}`, {
      kind: "ok",
      text: `Saved ${fmt.name(saved)}.`,
    });
  });

  /**
   * A one-button change of a user (block, admin rights), refused on oneself. Whoever is no
   * longer an active admin afterwards is signed out of the admin everywhere.
   */
  function change(
    path: string,
    what: string,
    refuseSelf: string,
    apply: (user: User) => Promise<User>,
    done: (user: User) => string,
  ) {
    app.post<{ Params: { id: string } }>(`/users/:id/${path}`, async (request, reply) => {
      const user = await userOf(request, reply);
      if (user === undefined) return reply;
      if (request.admin?.user.telegramId === user.telegramId) {
        return kit.redirect(reply, `/users/${user.telegramId}`, {
          kind: "error",
          text: refuseSelf,
        });
      }
      let changed: User;
      try {
        changed = await apply(user);
      } catch (error) {
        return kit.redirect(reply, `/users/${user.telegramId}`, flashOf(error));
      }
      await kit.endSessionsUnlessAdmin(changed.telegramId, changed);
      await kit.audit(request, what, String(user.telegramId), fmt.name(user));
      return kit.redirect(reply, `/users/${user.telegramId}`, { kind: "ok", text: done(changed) });
    });
  }

  change(
    "block",
    "user.block",
    "You cannot block yourself.",
    (user) => kit.users.updateUser(user.telegramId, { status: "blocked" }),
    (user) => `${fmt.name(user)} is blocked: the bot ignores them from now on.`,
  );
  change(
    "unblock",
    "user.unblock",
    "You are not blocked.",
    (user) => kit.users.updateUser(user.telegramId, { status: "active" }),
    (user) => `${fmt.name(user)} is active again.`,
  );
  change(
    "make-admin",
    "user.promote",
    "You are an admin already.",
    (user) => kit.users.updateUser(user.telegramId, { isAdmin: true }),
    (user) => `${fmt.name(user)} is an admin now: they may run every action and use this admin.`,
  );
  change(
    "remove-admin",
    "user.demote",
    "You cannot remove your own admin rights; ask another admin.",
    (user) => kit.users.updateUser(user.telegramId, { isAdmin: false }),
    (user) => `${fmt.name(user)} is no longer an admin.`,
  );

  // ---- deleting ----------------------------------------------------------------------------

  app.get<{ Params: { id: string } }>("/users/:id/delete", async (request, reply) => {
    const user = await userOf(request, reply);
    if (user === undefined) return reply;
    const grants = (await kit.users.listPermissions()).filter((p) =>
      p.users.includes(user.telegramId),
    );
    return kit.render(request, reply, "user-delete.eta", `Delete ${fmt.name(user)}`, {
      fmt,
      user,
      self: request.admin?.user.telegramId === user.telegramId,
      grants: grants.map((p) => p.action),
    });
  });

  app.post<{ Params: { id: string } }>("/users/:id/delete", async (request, reply) => {
    const user = await userOf(request, reply);
    if (user === undefined) return reply;
    if (request.admin?.user.telegramId === user.telegramId) {
      return kit.redirect(reply, `/users/${user.telegramId}`, {
        kind: "error",
        text: "You cannot delete yourself; ask another admin.",
      });
    }
    try {
      await kit.users.deleteUser(user.telegramId);
    } catch (error) {
      return kit.redirect(reply, `/users/${user.telegramId}`, flashOf(error));
    }
    await kit.endSessionsUnlessAdmin(user.telegramId, null);
    await kit.audit(request, "user.delete", String(user.telegramId), fmt.name(user));
    return kit.redirect(reply, "/users", { kind: "ok", text: `${fmt.name(user)} was deleted.` });
  });
};

const hasErrors = (errors: FieldErrors) => Object.keys(errors).length > 0;
const isGone = (error: unknown) => isKamihiError(error, "KAMIHI_USER_NOT_FOUND");
