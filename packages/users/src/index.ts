/**
 * Kamihi users, roles and permissions: registration flows, authorization and a user cache.
 *
 * @packageDocumentation
 */

export {};
