/**
 * The admin console at `/admin` (README, "Admin console"): sign-in and
 * sign-out, the page shell, and the browser client (`src/console/assets/`,
 * embedded at build time by `npm run build:console`; scripts/embed-console.ts
 * says why not Workers static assets). Everything the console shows or
 * changes goes through the admin REST API with the session cookie
 * (`auth/require-admin.ts`), so it never has powers the API lacks.
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { authenticate } from "../auth/authenticate";
import {
  CSRF_HEADER,
  openSession,
  readSession,
  SESSION_COOKIE,
  SESSION_TTL_SECONDS,
  writeAllowed,
} from "../auth/console-session";
import { keyRing } from "../auth/keys";
import { canAdmin } from "../auth/principal";
import type { AppEnv } from "../env";
import { HttpError } from "../errors";
import { CONSOLE_ASSETS } from "./assets.generated";
import { loginPage, PAGES, secureHeaders, shellPage } from "./pages";

const cookieOptions = {
  httpOnly: true,
  secure: true,
  sameSite: "Strict",
  path: "/",
} as const;

/** The console's session, or null (a stale cookie is cleared). */
async function sessionOf(c: Context<AppEnv>) {
  const cookie = getCookie(c, SESSION_COOKIE);
  if (!cookie) return null;
  const session = await readSession(cookie, await keyRing(c.env), c.env.ADMIN_TOKEN, c.get("config"));
  if (!session) deleteCookie(c, SESSION_COOKIE, cookieOptions);
  return session;
}

/** Routes under /admin. */
export function consoleRoutes() {
  const admin = new Hono<AppEnv>();

  admin.get("/assets/:path{.+}", (c) => {
    // A lookup in a fixed map: no path is ever joined onto anything, so `..` cannot escape.
    const asset = CONSOLE_ASSETS.get(c.req.param("path"));
    if (!asset) throw new HttpError(404, "not_found", "No such asset");
    secureHeaders(c, "no-cache");
    c.header("etag", asset.etag);
    if (c.req.header("if-none-match") === asset.etag) return c.body(null, 304);
    c.header("content-type", asset.type);
    return c.body(asset.body, 200);
  });

  admin.get("/login", async (c) => {
    if (await sessionOf(c)) return c.redirect("/admin", 303);
    secureHeaders(c);
    return c.html(loginPage());
  });

  admin.post(
    "/login",
    bodyLimit({
      maxSize: 4096,
      onError: () => {
        throw new HttpError(413, "payload_too_large", "Sign-in form too large");
      },
    }),
    async (c) => {
      // A sign-in from another site would plant that site's session (login CSRF).
      if (c.req.header("origin") !== new URL(c.req.url).origin) {
        throw new HttpError(403, "forbidden", "Sign in from the console's own page");
      }
      const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      const secret = typeof form.token === "string" ? form.token.trim() : "";
      secureHeaders(c);
      const principal =
        secret.length > 0 && secret.length <= 512
          ? await authenticate(secret, c.env.ADMIN_TOKEN, c.get("config"))
          : null;
      if (!principal || !canAdmin(principal)) {
        return c.html(loginPage("That token is not valid, has expired, or lacks the admin scope."), 401);
      }
      const { cookie } = await openSession(secret, principal, await keyRing(c.env));
      setCookie(c, SESSION_COOKIE, cookie, { ...cookieOptions, maxAge: SESSION_TTL_SECONDS });
      return c.redirect("/admin", 303);
    },
  );

  admin.post("/logout", async (c) => {
    const session = await sessionOf(c);
    if (session) {
      const allowed = await writeAllowed(session, {
        url: c.req.url,
        csrf: c.req.header(CSRF_HEADER),
        origin: c.req.header("origin"),
        fetchSite: c.req.header("sec-fetch-site"),
      });
      if (!allowed) throw new HttpError(403, "forbidden", "Cross-site request refused (CSRF check failed)");
    }
    deleteCookie(c, SESSION_COOKIE, cookieOptions);
    return c.body(null, 204);
  });

  for (const [page] of PAGES) {
    admin.get(page ? `/${page}` : "/", async (c) => {
      const session = await sessionOf(c);
      if (!session) return c.redirect("/admin/login", 303);
      secureHeaders(c);
      const user = session.principal.kind === "admin" ? "admin" : `${session.principal.name} (API token)`;
      return c.html(shellPage(page, user, session.csrf));
    });
  }
  return admin;
}
