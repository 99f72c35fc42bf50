/**
 * Who may do what: tokens and sessions checked on every request, users and passwords, roles and
 * site scopes, the sign-in limit.
 *
 * @module
 */

export {
  accessGuard,
  canSee,
  checkSite,
  describe,
  inScope,
  principalOf,
  requiredAccess,
  siteScope,
} from "./access.ts";
export {
  authenticate,
  checkSameOrigin,
  isPagePath,
  isPublic,
  SESSION_COOKIE,
  sessionGuard,
  signedIn,
  tokenKindFor,
} from "./authenticate.ts";
export type { CollectorEnv, SessionUser } from "./authenticate.ts";
export { roleAllows, ROLES } from "./roles.ts";
export type { Role } from "./roles.ts";
export { listUserSessions, revokeUserSessions, Sessions } from "./sessions.ts";
export { lockoutMessage, SignInLimiter } from "./signin_limit.ts";
export type { Lockout, SignInLimits } from "./signin_limit.ts";
export { canSeeSite, USER_NAME, Users } from "./users.ts";
