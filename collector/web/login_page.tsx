/**
 * The sign-in page: username and password, and one message for any
 * failure (it never says which of the two was wrong).
 *
 * @module
 */
import { Layout, renderHtml } from "./layout.tsx";

/** The message of a failed sign-in. */
export const SIGN_IN_FAILED = "Wrong username or password.";

/** The sign-in page; `next` is where a successful sign-in goes (a local path). */
export function renderLoginPage(
  options: { next: string; error?: string; username?: string },
): string {
  return renderHtml(
    <Layout title="Sign in" user={null}>
      <form class="login" method="post" action="/login">
        <h1>scriptmon</h1>
        {options.error === undefined ? null : <p class="error" role="alert">{options.error}</p>}
        <label>
          Username
          <input
            name="username"
            autocomplete="username"
            required
            autofocus
            value={options.username ?? ""}
          />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <input type="hidden" name="next" value={options.next} />
        <button type="submit">Sign in</button>
      </form>
    </Layout>,
  );
}

/**
 * `next` if it is a path on this collector, else `/`: no other origin,
 * however written (`//host`, `/\\host`, a tab or other control character
 * that browsers strip, a backslash anywhere).
 */
export function safeNext(next: string | undefined): string {
  const unsafe = (ch: string) =>
    ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f || ch === "\\";
  if (next === undefined || !next.startsWith("/") || [...next].some(unsafe)) {
    return "/";
  }
  const base = "http://collector.invalid";
  let url: URL;
  try {
    url = new URL(next, base);
  } catch {
    return "/";
  }
  return url.origin === base ? `${url.pathname}${url.search}` : "/";
}
