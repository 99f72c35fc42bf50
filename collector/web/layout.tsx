/**
 * The frame of every collector page: head (one stylesheet, one script, the
 * CSRF token in a meta tag), the nav and the signed-in user with sign-out.
 * Pages are server-rendered with hono/jsx, which escapes every text child
 * and attribute: agent and script text is only ever passed as those, never
 * through `raw()` or `dangerouslySetInnerHTML`.
 *
 * @module
 */
import type { Child } from "hono/jsx";
import type { SessionUser } from "../auth/authenticate.ts";

/** The link to a script's page. */
export function scriptHref(site: string, host: string, script: string): string {
  return `/scripts/${encodeURIComponent(site)}/${encodeURIComponent(host)}/${
    encodeURIComponent(script)
  }`;
}

/** The nav entries, in order. */
export const NAV: readonly { href: string; label: string }[] = [
  { href: "/", label: "Fleet" },
  { href: "/alerts", label: "Alerts" },
  { href: "/notifications", label: "Notifications" },
  { href: "/reports", label: "Reports" },
  { href: "/export", label: "Export" },
];

/** Nav entries only admins of every site see (the routes refuse everyone else). */
export const ADMIN_NAV: readonly { href: string; label: string }[] = [
  { href: "/config", label: "Config" },
  { href: "/audit", label: "Audit" },
];

/** Props of {@linkcode Layout}. */
export interface LayoutProps {
  title: string;
  /** The signed-in user; null on the sign-in page. */
  user: SessionUser | null;
  /** The nav entry to mark current (its href). */
  current?: string;
  /** Extra scripts served by the collector (same origin), after /static/app.js. */
  scripts?: string[];
  children?: Child;
}

/**
 * A time as the server writes it: UTC to the second (`2026-12-05 18:10:01 UTC`); the pages'
 * script (`/static/app.js`) shows it on the reader's clock, the UTC text on hover.
 */
export function UtcTime(props: { iso: string }) {
  return <time datetime={props.iso}>{`${props.iso.slice(0, 19).replace("T", " ")} UTC`}</time>;
}

/** The pages' icon: a pulse on the accent colour (also served at `/favicon.ico`). */
export const FAVICON_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
  '<rect width="32" height="32" rx="7" fill="#0b5cad"/>' +
  '<path d="M4 17h6l3-7 5 14 3-7h7" fill="none" stroke="#fff" stroke-width="3" ' +
  'stroke-linecap="round" stroke-linejoin="round"/></svg>';

const FAVICON_HREF = `data:image/svg+xml,${encodeURIComponent(FAVICON_SVG)}`;

/** A whole page. */
export function Layout(props: LayoutProps) {
  const { user } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        {user === null ? null : <meta name="csrf-token" content={user.session.csrf} />}
        <title>{`${props.title} · scriptmon`}</title>
        <link rel="icon" type="image/svg+xml" href={FAVICON_HREF} />
        <link rel="stylesheet" href="/static/app.css" />
        {user === null ? null : <script src="/static/app.js" defer></script>}
        {(props.scripts ?? []).map((src) => <script key={src} src={src} defer></script>)}
      </head>
      <body>
        {user === null ? null : (
          <header class="top">
            <a class="brand" href="/">scriptmon</a>
            <nav>
              {[...NAV, ...(user.role === "admin" && user.sites === null ? ADMIN_NAV : [])].map((
                item,
              ) => (
                <a href={item.href} aria-current={props.current === item.href ? "page" : undefined}>
                  {item.label}
                </a>
              ))}
            </nav>
            <span class="who">
              {user.name} <small>{user.role}</small>
            </span>
            <form method="post" action="/logout" class="signout">
              <input type="hidden" name="_csrf" value={user.session.csrf} />
              <button type="submit">Sign out</button>
            </form>
          </header>
        )}
        <main>{props.children}</main>
      </body>
    </html>
  );
}

/** `<!DOCTYPE html>` and the rendered node; throws if a component was async. */
export function renderHtml(node: unknown): string {
  const html = String(node);
  if (html === "[object Promise]") throw new TypeError("A page rendered asynchronously");
  return html.startsWith("<html") ? `<!DOCTYPE html>${html}` : html;
}
