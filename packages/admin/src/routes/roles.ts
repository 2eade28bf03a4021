import type { Role, User } from "@kamihi/core";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import * as v from "valibot";
import { flashOf, formErrorsOf } from "../kit/form-errors.js";
import { fmt } from "../kit/format.js";
import {
  afterCursor,
  type FormState,
  formFields,
  optionalText,
  parseForm,
  ROLE_NAME,
  refuseForm,
  telegramIdField,
  telegramIdParam,
} from "../kit/forms.js";
import type { PageOptions } from "../kit/kit.js";

const MEMBERS_PER_PAGE = 50;

const NewRoleForm = v.object({
  name: v.pipe(
    optionalText(64),
    v.nonEmpty("Enter a name for the role."),
    v.regex(ROLE_NAME, 'Use letters, digits, "_", "-" or "." only (no spaces).'),
  ),
  description: optionalText(200),
});

const MemberForm = v.object({ telegramId: telegramIdField });

const MembersQuery = v.object({
  after: afterCursor,
});

type RoleParams = { Params: { name: string } };

/** `/roles`: the roles with their member counts, creating, members, deleting (confirmed). */
export const rolePages: FastifyPluginAsync<PageOptions> = async (app, { kit }) => {
  const showRoles = async (
    request: FastifyRequest,
    reply: FastifyReply,
    form: FormState = { values: {}, errors: {} },
  ) => {
    const roles = await kit.users.listRoles();
    const [counts, permissions] = await Promise.all([
      Promise.all(roles.map((role) => kit.users.listUsers({ role: role.name, limit: 1 }))),
      kit.users.listPermissions(),
    ]);
    return kit.render(request, reply, "roles.eta", "Roles", {
      fmt,
      form,
      roles: roles.map((role, index) => ({
        ...role,
        members: counts[index]?.total ?? 0,
        actions: permissions.filter((p) => p.roles.includes(role.name)).map((p) => p.action),
      })),
    });
  };

  app.get("/roles", (request, reply) => showRoles(request, reply));

  app.post("/roles", async (request, reply) => {
    const form = formFields(request.body);
    if (form === undefined) return refuseForm(kit, request, reply);
    const parsed = parseForm(NewRoleForm, form);
    if (!parsed.ok)
      return showRoles(request, reply.code(400), { values: form, errors: parsed.errors });
    let role: Role;
    try {
      role = await kit.users.createRole({
        name: parsed.value.name,
        ...(parsed.value.description ? { description: parsed.value.description } : {}),
      });
    } catch (error) {
      const state = formErrorsOf(error, {
        KAMIHI_ROLE_EXISTS: "name",
        KAMIHI_ROLE_INVALID_NAME: "name",
      });
      if (state === undefined) throw error;
      return showRoles(request, reply.code(400), { values: form, ...state });
    }
    await kit.audit(request, "role.create", role.name, role.description);
    return kit.redirect(reply, `/roles/${fmt.segment(role.name)}`, {
      kind: "ok",
      text: `The role ${role.name} was created. Add members here, and grant it actions on the Permissions page.`,
    });
  });

  /** The role of `/roles/:name…`, or `undefined` after answering 404. */
  async function roleOf(request: FastifyRequest<RoleParams>, reply: FastifyReply) {
    const name = request.params.name;
    const role = ROLE_NAME.test(name)
      ? (await kit.users.listRoles()).find((r) => r.name === name)
      : undefined;
    if (role === undefined) {
      await kit.render(request, reply.code(404), "error.eta", "Not found", {
        message: "There is no role with this name; it may have been deleted.",
      });
    }
    return role;
  }

  const showRole = async (
    request: FastifyRequest,
    reply: FastifyReply,
    role: Role,
    after: string | undefined,
    form: FormState = { values: {}, errors: {} },
  ) => {
    const [page, permissions] = await Promise.all([
      kit.users.listUsers({
        role: role.name,
        limit: MEMBERS_PER_PAGE,
        ...(after === undefined ? {} : { after }),
      }),
      kit.users.listPermissions(),
    ]);
    const base = `/roles/${fmt.segment(role.name)}`;
    return kit.render(request, reply, "role.eta", `Role ${role.name}`, {
      fmt,
      role,
      base,
      page,
      form,
      actions: permissions.filter((p) => p.roles.includes(role.name)).map((p) => p.action),
      nextLink: page.next === undefined ? undefined : `${base}?after=${page.next}`,
      firstLink: after === undefined ? undefined : base,
    });
  };

  app.get<RoleParams>("/roles/:name", async (request, reply) => {
    const role = await roleOf(request, reply);
    if (role === undefined) return reply;
    const fields = formFields(request.query);
    const query = fields === undefined ? undefined : parseForm(MembersQuery, fields);
    if (query === undefined || !query.ok) return refuseForm(kit, request, reply);
    return showRole(request, reply, role, query.value.after);
  });

  app.post<RoleParams>("/roles/:name/members", async (request, reply) => {
    const role = await roleOf(request, reply);
    if (role === undefined) return reply;
    const form = formFields(request.body);
    if (form === undefined) return refuseForm(kit, request, reply);
    const parsed = parseForm(MemberForm, form);
    if (!parsed.ok) {
      return showRole(request, reply.code(400), role, undefined, {
        values: form,
        errors: parsed.errors,
      });
    }
    let user: User;
    try {
      user = await kit.users.assignRole(role.name, parsed.value.telegramId);
    } catch (error) {
      const state = formErrorsOf(error, {
        KAMIHI_USER_NOT_FOUND: "telegramId",
        KAMIHI_USER_INVALID: "telegramId",
      });
      if (state === undefined) throw error;
      return showRole(request, reply.code(400), role, undefined, { values: form, ...state });
    }
    await kit.audit(request, "role.assign", role.name, `${fmt.name(user)} (${user.telegramId})`);
    return kit.redirect(reply, `/roles/${fmt.segment(role.name)}`, {
      kind: "ok",
      text: `${fmt.name(user)} has the role ${role.name} now.`,
    });
  });

  app.post<{ Params: { name: string; id: string } }>(
    "/roles/:name/members/:id/remove",
    async (request, reply) => {
      const role = await roleOf(request, reply);
      if (role === undefined) return reply;
      const id = telegramIdParam(request.params.id);
      if (id === undefined) {
        reply.callNotFound();
        return reply;
      }
      const back = `/roles/${fmt.segment(role.name)}`;
      let user: User;
      try {
        user = await kit.users.unassignRole(role.name, id);
      } catch (error) {
        return kit.redirect(reply, back, flashOf(error));
      }
      await kit.audit(
        request,
        "role.unassign",
        role.name,
        `${fmt.name(user)} (${user.telegramId})`,
      );
      return kit.redirect(reply, back, {
        kind: "ok",
        text: `${fmt.name(user)} no longer has the role ${role.name}.`,
      });
    },
  );

  app.get<RoleParams>("/roles/:name/delete", async (request, reply) => {
    const role = await roleOf(request, reply);
    if (role === undefined) return reply;
    const [members, permissions] = await Promise.all([
      kit.users.listUsers({ role: role.name, limit: 1 }),
      kit.users.listPermissions(),
    ]);
    return kit.render(request, reply, "role-delete.eta", `Delete role ${role.name}`, {
      fmt,
      role,
      members: members.total,
      actions: permissions.filter((p) => p.roles.includes(role.name)).map((p) => p.action),
    });
  });

  app.post<RoleParams>("/roles/:name/delete", async (request, reply) => {
    const role = await roleOf(request, reply);
    if (role === undefined) return reply;
    try {
      await kit.users.deleteRole(role.name);
    } catch (error) {
      return kit.redirect(reply, `/roles/${fmt.segment(role.name)}`, flashOf(error));
    }
    await kit.audit(request, "role.delete", role.name);
    return kit.redirect(reply, "/roles", {
      kind: "ok",
      text: `The role ${role.name} was deleted; its members keep their other roles.`,
    });
  });
};
