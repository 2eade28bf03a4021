/**
 * The commands of the `kamihi` CLI, written against Kamihi's core interfaces.
 *
 * @packageDocumentation
 */

export {};
