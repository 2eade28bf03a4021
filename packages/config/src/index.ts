/**
 * Kamihi's settings: one validated object from code, a config file, the environment and
 * defaults, where every value knows its source and secrets are never shown.
 *
 * @packageDocumentation
 */

export { defineConfig, formatEffectiveSettings, loadSettings } from "./load.js";
export type { EffectiveSetting, LoadedSettings, LoadSettingsOptions } from "./load.js";
export { settingsSchema, TOKEN_PATTERN, isSecretPath } from "./schema.js";
export type { SettingsInput, ValidatedSettings } from "./schema.js";
export type { Settings } from "@kamihi/core";
export { formatSource } from "./sources.js";
export type { SettingSource } from "./sources.js";
export { configSearchPlaces } from "./file.js";
export { envNameToPath, pathToEnvName } from "./env.js";
