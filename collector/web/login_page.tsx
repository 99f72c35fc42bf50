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

/** `next` if it is a path on this collector (not `//host` or a URL), else `/`. */
export function safeNext(next: string | undefined): string {
  if (next === undefined || !next.startsWith("/") || next.startsWith("//")) return "/";
  if (next.startsWith("/\\") || /[\r\n]/.test(next)) return "/";
  return next;
}
