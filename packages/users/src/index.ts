/**
 * Users, roles and permissions for Kamihi bots: registration flows, authorization and a cache
 * that keeps the update path free of database round trips. Talks to a `Store` only.
 *
 * @packageDocumentation
 */

export { createUserService, StoreUserService } from "./service.js";
export type { Registration, UserServiceOptions } from "./options.js";
export { describeFields, validateData } from "./fields.js";
export type { UserSchema } from "./fields.js";
