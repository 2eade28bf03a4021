/**
 * Kamihi's secure, server-rendered web admin.
 *
 * @packageDocumentation
 */

export {};
