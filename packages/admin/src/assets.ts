import { fileURLToPath } from "node:url";

// Resolved from this module, which sits one level below the package as `dist/index.js` (the
// bundle) does: so both the sources (tests) and the build find the package's folders.

/** The Eta views the pages render. */
export const VIEWS = fileURLToPath(new URL("../views/", import.meta.url));
/** The files served under `/static/` (the stylesheet). */
export const PUBLIC = fileURLToPath(new URL("../public/", import.meta.url));
