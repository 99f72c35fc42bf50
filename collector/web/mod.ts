/**
 * The fleet web page: server-rendered pages (hono/jsx), the live stream, sign-in and its
 * security headers.
 *
 * @module
 */

export { auditPageRoutes } from "./audit_page.tsx";
export { renderErrorPage, wantsHtml } from "./error_page.tsx";
export { renderFleetPage } from "./fleet_page.tsx";
export { FleetLive } from "./live.ts";
export { safeNext, SIGN_IN_FAILED } from "./login_page.tsx";
export { pageRoutes, pagesAlerting } from "./pages.ts";
export { webRoutes, workstationsFor } from "./routes.ts";
export { CONTENT_SECURITY_POLICY, securityHeaders } from "./security_headers.ts";
