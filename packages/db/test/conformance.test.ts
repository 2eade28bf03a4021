import { requiredMongoUrl, runStoreConformance, uniqueDbName } from "../src/conformance.js";
import { createMemoryStore, createMongoStore } from "../src/index.js";

runStoreConformance({ name: "embedded (memory://)", createStore: () => createMemoryStore() });

const mongo = requiredMongoUrl();
runStoreConformance({
  name: "MongoDB (KAMIHI_TEST_MONGODB_URL)",
  createStore: () =>
    createMongoStore({ url: mongo.url ?? "", dbName: uniqueDbName("kamihi_conformance") }),
  ...(mongo.skip === undefined ? {} : { skip: mongo.skip }),
});
