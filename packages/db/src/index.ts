/**
 * The Kamihi Store: MongoDB through the official driver, and an embedded in-process store.
 *
 * @packageDocumentation
 */

export {};
