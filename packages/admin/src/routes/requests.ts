import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import * as v from "valibot";
import { flashOf } from "../kit/form-errors.js";
import { fmt } from "../kit/format.js";
import { afterCursor, formFields, parseForm, refuseForm, telegramIdParam } from "../kit/forms.js";
import type { AdminKit, PageOptions } from "../kit/kit.js";

const PAGE_SIZE = 50;

const ListQuery = v.object({
  after: afterCursor,
});

type IdParams = { Params: { id: string } };

/** `/requests`: people waiting for approval (registration `approval`), approved or denied. */
export const requestPages: FastifyPluginAsync<PageOptions> = async (app, { kit }) => {
  app.get("/requests", async (request, reply) => {
    const fields = formFields(request.query);
    const query = fields === undefined ? undefined : parseForm(ListQuery, fields);
    if (query === undefined || !query.ok) return refuseForm(kit, request, reply);
    const after = query.value.after;
    const page = await kit.users.listUsers({
      status: "pending",
      limit: PAGE_SIZE,
      ...(after === undefined ? {} : { after }),
    });
    return kit.render(request, reply, "requests.eta", "Requests", {
      fmt,
      page,
      nextLink: page.next === undefined ? undefined : `/requests?after=${page.next}`,
      firstLink: after === undefined ? undefined : "/requests",
    });
  });

  const decide =
    (approve: boolean) => async (request: FastifyRequest<IdParams>, reply: FastifyReply) => {
      const id = telegramIdParam(request.params.id);
      if (id === undefined) {
        reply.callNotFound();
        return reply;
      }
      let decision: Awaited<ReturnType<AdminKit["users"]["decide"]>>;
      try {
        decision = await kit.users.decide(id, approve);
      } catch (error) {
        return kit.redirect(reply, "/requests", flashOf(error));
      }
      if (decision.outcome === "missing") {
        return kit.redirect(reply, "/requests", {
          kind: "error",
          text: `User ${id} no longer exists: someone deleted them.`,
        });
      }
      const name = fmt.name(decision.user);
      if (decision.outcome === "already") {
        const now =
          decision.user.status === "active"
            ? "approved"
            : decision.user.status === "blocked"
              ? "denied (blocked)"
              : decision.user.status;
        return kit.redirect(reply, "/requests", {
          kind: "error",
          text: `Someone decided first: ${name} is already ${now}. Nothing was changed.`,
        });
      }
      await kit.endSessionsUnlessAdmin(id, decision.user);
      await kit.audit(request, approve ? "request.approve" : "request.deny", String(id), name);
      return kit.redirect(reply, "/requests", {
        kind: "ok",
        text: approve
          ? `${name} was approved: they can use the bot now.`
          : `${name} was denied: the bot ignores them (unblock them on their page to change this).`,
      });
    };

  app.post<IdParams>("/requests/:id/approve", decide(true));
  app.post<IdParams>("/requests/:id/deny", decide(false));
};
