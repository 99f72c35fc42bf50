/** The agent's version, reported by `version`, `status` and the API. */
export const VERSION = "0.1.0";
