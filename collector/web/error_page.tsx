/**
 * The page a browser gets when a page request is refused (a bad filter, a
 * script that does not exist, a site the user may not see): the status and
 * the same precise message the API would send, inside the usual frame.
 *
 * @module
 */
import type { Context } from "hono";
import type { SessionUser } from "../auth/authenticate.ts";
import { Layout, renderHtml } from "./layout.tsx";

/** Whether the request is a browser's page load (GET accepting HTML). */
export function wantsHtml(c: Context): boolean {
  return c.req.method === "GET" && (c.req.header("accept") ?? "").includes("text/html");
}

/** The error page. */
export function renderErrorPage(
  options: { status: number; message: string; user: SessionUser | null },
): string {
  return renderHtml(
    <Layout title={`Error ${options.status}`} user={options.user}>
      <section class="failure">
        <h1>{`${options.status}`}</h1>
        <p class="error" role="alert">{options.message}</p>
        <p>
          <a href="/">Back to the fleet</a>
        </p>
      </section>
    </Layout>,
  );
}
