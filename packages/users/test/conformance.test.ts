import type { UserService } from "@kamihi/core";
import { runUserServiceConformance } from "../src/conformance.js";
import { createUserService } from "../src/index.js";
import { backends, type TestDatabase } from "./helpers/backends.js";

// The port's contract, run against the default service on the embedded store and on the
// MongoDB-compatible server (when KAMIHI_TEST_MONGODB_URL is set).
for (const backend of backends) {
  const opened: TestDatabase[] = [];
  const databaseOf = new WeakMap<UserService, TestDatabase>();

  runUserServiceConformance({
    name: `createUserService on ${backend.kind}`,
    ...(backend.skip === undefined ? {} : { skip: backend.skip }),
    async create({ actions }) {
      const db = await backend.open();
      opened.push(db);
      const users = createUserService({ store: await db.connect(), actions: () => actions });
      databaseOf.set(users, db);
      return users;
    },
    async peer(service, { actions }) {
      const db = databaseOf.get(service);
      if (db === undefined) throw new Error("peer() was given a service create() did not make");
      return createUserService({ store: await db.connect(), actions: () => actions });
    },
    async teardown() {
      await Promise.all(opened.map((db) => db.close()));
    },
  });
}
