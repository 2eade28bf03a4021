import { after, before } from "node:test";
import type { Store } from "@kamihi/core";
import * as v from "valibot";
import {
  createUserService,
  type StoreUserService,
  type UserServiceOptions,
} from "../../src/index.js";
import type { Backend, TestDatabase } from "./backends.js";

/** The custom user fields of the test project. */
export const profileSchema = v.object({
  city: v.optional(v.string(), "Madrid"),
  age: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  vip: v.optional(v.boolean(), false),
});

export interface ServiceContext {
  db: TestDatabase;
  store: Store;
  users: StoreUserService;
}

/**
 * Registers `before`/`after` hooks of the enclosing `describe` that open a fresh database on
 * `backend` and a service over it; the returned object is filled in by `before`.
 */
export function withService(
  backend: Backend,
  options: Omit<UserServiceOptions, "store"> = {},
): ServiceContext {
  const context = {} as ServiceContext;
  before(async () => {
    context.db = await backend.open();
    context.store = await context.db.connect();
    context.users = createUserService({ store: context.store, ...options });
    await context.users.init();
  });
  after(async () => {
    await context.db?.close();
  });
  return context;
}
