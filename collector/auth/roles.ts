/**
 * The access vocabulary: the roles, weakest first, and the principal that
 * holds one (a signed-in user or an API token). It imports nothing, so the
 * store's records, the users, the authentication and the access checks can
 * all use it without importing each other.
 *
 * - `viewer` reads; `operator` also controls scripts and acknowledges and
 *   silences alerts; `admin` may do everything.
 *
 * @module
 */

/** The roles, weakest first. */
export const ROLES = ["viewer", "operator", "admin"] as const;

/** What a user or an API token may do. */
export type Role = typeof ROLES[number];

/** Whether `role` includes everything `needed` may do. */
export function roleAllows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** Who asks, the same shape for a signed-in user and an API token. */
export interface Principal {
  kind: "user" | "api-token" | "wall-token";
  name: string;
  role: Role;
  /** Null: every site. */
  sites: string[] | null;
}
