/**
 * The admin console's two server-rendered documents: the sign-in page (no
 * script at all) and the shell every console page starts from (it loads
 * `/admin/assets/app.js`, which draws the pages from the admin REST API).
 * Rendered with `hono/html`, which escapes every interpolated value.
 *
 * Both are sent with a Content-Security-Policy that allows scripts and
 * styles only from the gateway's own origin (no inline script or style, so
 * an injected string can never run) and forbids framing.
 */
import type { Context } from "hono";
import { html } from "hono/html";

/** The console's Content-Security-Policy: external scripts and styles of this origin only. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers every console response carries. */
export function secureHeaders(c: Context, cache = "no-store"): void {
  c.header("content-security-policy", CONSOLE_CSP);
  c.header("x-frame-options", "DENY");
  c.header("x-content-type-options", "nosniff");
  // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on the console's own POSTs.
  c.header("referrer-policy", "same-origin");
  c.header("cross-origin-opener-policy", "same-origin");
  c.header("cache-control", cache);
}

/** The console's pages: path under /admin, and the label in the navigation. */
export const PAGES = [
  ["", "Dashboard"],
  ["backends", "Backends"],
  ["servers", "Servers"],
  ["tokens", "Tokens"],
  ["plugins", "Plugins"],
  ["spans", "Spans"],
] as const;

const head = (title: string) => html`<meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>${title}</title>
  <link rel="stylesheet" href="/admin/assets/console.css" />
  <link rel="icon" href="/admin/assets/favicon.svg" type="image/svg+xml" />`;

/** The sign-in page; `error` is shown when a sign-in failed. */
export function loginPage(error?: string) {
  return html`<!doctype html>
<html lang="en">
  <head>
    ${head("Sign in · MCP gateway console")}
  </head>
  <body class="login-body">
    <main class="login" id="main">
      <h1>MCP gateway console</h1>
      <form method="post" action="/admin/login" class="card">
        <label for="token">Admin token, or an API token with the <code>admin</code> scope</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required maxlength="512"
          ${error ? html`aria-invalid="true" aria-describedby="login-error"` : ""} />
        ${error ? html`<p class="field-error" id="login-error" role="alert">${error}</p>` : ""}
        <button type="submit" class="primary">Sign in</button>
      </form>
      <p class="hint">The token is checked once. The browser keeps a session cookie for 8 hours (never the token);
        revoking the token or changing the admin token ends the session.</p>
    </main>
  </body>
</html>`;
}

/** The shell of every console page: navigation, who is signed in, and the CSRF token writes must echo. */
export function shellPage(page: string, user: string, csrf: string) {
  const label = PAGES.find(([path]) => path === page)?.[1] ?? "Console";
  return html`<!doctype html>
<html lang="en">
  <head>
    ${head(`${label} · MCP gateway console`)}
    <meta name="csrf-token" content="${csrf}" />
    <script type="module" src="/admin/assets/app.js"></script>
  </head>
  <body>
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <span class="brand">MCP gateway</span>
      <nav aria-label="Console">
        <ul>
          ${PAGES.map(
            ([path, name]) =>
              html`<li><a href="/admin${path ? `/${path}` : ""}" data-page="${path}"
                ${path === page ? html`aria-current="page"` : ""}>${name}</a></li>`,
          )}
        </ul>
      </nav>
      <span class="who">Signed in as <strong>${user}</strong></span>
      <button type="button" id="sign-out">Sign out</button>
    </header>
    <main id="main" tabindex="-1" data-page="${page}"><p>Loading…</p></main>
  </body>
</html>`;
}
