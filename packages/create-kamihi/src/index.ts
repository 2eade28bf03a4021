/**
 * Scaffold a new Kamihi bot: `npm create kamihi` / `pnpm create kamihi`.
 *
 * @packageDocumentation
 */

export {};
