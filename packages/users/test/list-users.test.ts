import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Document, IndexSpec, UserPage, UserQuery } from "@kamihi/core";
import { createUserService } from "../src/index.js";
import { backends, issuePaths, kamihiError } from "./helpers/backends.js";
import { withService } from "./helpers/service.js";

/** Outside input typed as anything: what a query string or a JSON body can hold. */
const outside = <T>(value: unknown) => value as T;

/** 120 users in a shuffled order of ids: every third is "Grace", every tenth is pending. */
const IDS = Array.from({ length: 120 }, (_, i) => 1000 + ((i * 37) % 120) * 11);
const graces = IDS.filter((_, i) => i % 3 === 0).sort((a, b) => a - b);
const pending = IDS.filter((_, i) => i % 10 === 0).sort((a, b) => a - b);
const everyone = [...IDS].sort((a, b) => a - b);

for (const backend of backends) {
  describe(
    `listing users on ${backend.kind}`,
    backend.skip === undefined ? {} : { skip: backend.skip },
    () => {
      const ctx = withService(backend);

      before(async () => {
        await ctx.store.collection("users").insertMany(
          IDS.map(
            (telegramId, i): Document => ({
              telegramId,
              firstName: i % 3 === 0 ? "Grace" : "Alan",
              lastName: i === 7 ? "Tu.*ring (x)" : "Turing",
              ...(i % 2 === 0 ? { username: `user_${telegramId}` } : {}),
              isAdmin: false,
              roles: [],
              status: i % 10 === 0 ? "pending" : "active",
              data: { n: i },
            }),
          ),
        );
      });

      /** Every page of a query, following `next`. */
      async function walk(query: UserQuery): Promise<UserPage[]> {
        const pages: UserPage[] = [];
        let after: string | undefined;
        do {
          const page = await ctx.users.listUsers({ ...query, ...(after ? { after } : {}) });
          pages.push(page);
          after = page.next;
          assert.ok(pages.length <= 200, "paging does not end");
        } while (after !== undefined);
        return pages;
      }
      const idsOf = (pages: UserPage[]) => pages.flatMap((p) => p.users.map((u) => u.telegramId));

      it("counts up to countUpTo, says there are more past it, and pages alike", async () => {
        for (const countUpTo of [5, 119]) {
          const pages = await walk({ limit: 7, countUpTo });
          assert.deepEqual(idsOf(pages), everyone, `countUpTo ${countUpTo}`);
          for (const page of pages) {
            assert.equal(page.total, countUpTo);
            assert.equal(page.moreThanTotal, true);
          }
        }
      });

      it("counts exactly when the matches fit, on every page", async () => {
        for (const countUpTo of [120, 1000]) {
          const pages = await walk({ limit: 7, countUpTo });
          assert.deepEqual(idsOf(pages), everyone);
          assert.equal(pages.length, Math.ceil(120 / 7));
          for (const page of pages) {
            assert.equal(page.total, 120);
            assert.equal(page.moreThanTotal, undefined);
          }
        }
        const found = await walk({ search: "grace", limit: 4, countUpTo: 1000 });
        assert.deepEqual(idsOf(found), graces);
        assert.ok(found.every((page) => page.total === graces.length && !page.moreThanTotal));
        const last = found.at(-1);
        assert.equal(last?.next, undefined);
        assert.ok((last?.users.length ?? 0) > 0, "no empty page at the end");
      });

      it("filters and searches the same whether it counts all or up to a limit", async () => {
        for (const query of [
          { status: "pending" as const },
          { search: "GRACE", status: "pending" as const },
          { search: "user_1" },
          { search: ".*" },
          { search: "(x)" },
          { search: String(everyone[3]) },
        ]) {
          const all = idsOf(await walk({ ...query, limit: 3 }));
          for (const countUpTo of [2, 1000]) {
            assert.deepEqual(idsOf(await walk({ ...query, limit: 3, countUpTo })), all);
          }
        }
        assert.deepEqual(idsOf(await walk({ status: "pending", limit: 5 })), pending);
        assert.deepEqual(idsOf(await walk({ search: ".*", countUpTo: 10 })), [IDS[7]]);
        assert.deepEqual(idsOf(await walk({ search: "[", countUpTo: 10 })), []);
      });

      it("gives every listed user whole: their custom data, status and dates", async () => {
        const page = await ctx.users.listUsers({ search: String(IDS[4]), countUpTo: 10 });
        assert.equal(page.users.length, 1);
        const [user] = page.users;
        assert.deepEqual(user?.data, { n: 4 });
        assert.equal(user?.username, `user_${IDS[4]}`);
        assert.equal(user?.status, "active");
        assert.ok(user?.createdAt instanceof Date);
        // The same user from the indexed page (past countUpTo), where nothing was sorted here.
        const paged = await ctx.users.listUsers({
          limit: 1,
          countUpTo: 5,
          after: String((IDS[4] ?? 0) - 1),
        });
        assert.equal(paged.moreThanTotal, true);
        assert.deepEqual(paged.users, page.users);
      });

      it("refuses a countUpTo or a cursor it cannot use, naming the field", async () => {
        for (const countUpTo of [0, -1, 1.5, Number.NaN, outside<number>("10")]) {
          await assert.rejects(
            ctx.users.listUsers({ countUpTo }),
            kamihiError("KAMIHI_USER_QUERY_INVALID", (error) => {
              assert.deepEqual(issuePaths(error), ["countUpTo"]);
              assert.match(error.message, /Users could not be listed/);
            }),
          );
        }
        for (const after of ["abc", "1e3", "", " 12", "-5", outside<string>({ $gt: 0 })]) {
          await assert.rejects(
            ctx.users.listUsers({ after }),
            kamihiError("KAMIHI_USER_QUERY_INVALID", (error) => {
              assert.deepEqual(issuePaths(error), ["after"]);
            }),
            JSON.stringify(after),
          );
        }
      });

      it("asks the store for an index per filter, in the order it pages in", async () => {
        const asked: Document[] = [];
        const recording = new Proxy(ctx.store, {
          get(target, property) {
            if (property !== "collection") return Reflect.get(target, property, target);
            return (name: string) => {
              const collection = target.collection(name);
              if (name !== "users") return collection;
              return new Proxy(collection, {
                get(inner, key) {
                  if (key !== "createIndex") return Reflect.get(inner, key, inner);
                  return (spec: IndexSpec) => {
                    asked.push(spec.keys);
                    return inner.createIndex(spec);
                  };
                },
              });
            };
          },
        });
        await createUserService({ store: recording }).init();
        for (const wanted of [
          { telegramId: 1 },
          { status: 1, telegramId: 1 },
          { isAdmin: 1, telegramId: 1 },
          { roles: 1, telegramId: 1 },
        ]) {
          assert.ok(
            asked.some((keys) => JSON.stringify(keys) === JSON.stringify(wanted)),
            `an index on ${JSON.stringify(wanted)} (asked for ${JSON.stringify(asked)})`,
          );
        }
      });
    },
  );
}
