/**
 * Kamihi's settings: the schema, loading from files, environment and code, validation and provenance.
 *
 * @packageDocumentation
 */

export {};
