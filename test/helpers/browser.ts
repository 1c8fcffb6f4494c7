/**
 * A minimal browser for OAuth flows in end-to-end tests: follows redirects
 * with a cookie jar per host, and on an HTML page with a form fills it in and
 * submits it (like a person clicking the first button: the consent screen's
 * "Allow", oidc-provider's development login and consent forms). It stops at
 * the client's redirect URI and hands back that URL, so the test reads the
 * `code`, `state` and `iss` a real client would get.
 */

/** What the browser does with form fields it finds (name → value); hidden fields keep theirs. */
export interface BrowserOptions {
  fields?: Record<string, string>;
  /** Which submit button to press, by its `value` (default: the first). */
  press?: string;
  /** Upper bound on requests (a loop is a failure, not a hang). */
  maxSteps?: number;
}

export interface BrowserVisit {
  /** The client's redirect URL the flow ended at. */
  final: URL;
  /** Every URL requested, in order. */
  trail: string[];
}

type Jar = Map<string, Map<string, string>>;

function storeCookies(jar: Jar, url: URL, res: Response): void {
  const host = url.host;
  const cookies = jar.get(host) ?? new Map<string, string>();
  for (const line of res.headers.getSetCookie()) {
    const [pair = ""] = line.split(";");
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (/max-age=0/i.test(line) || value === "") cookies.delete(name);
    else cookies.set(name, value);
  }
  jar.set(host, cookies);
}

function cookieHeader(jar: Jar, url: URL): string {
  return [...(jar.get(url.host) ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join("; ");
}

function decode(value: string): string {
  return value
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");
}

/** The first form of a page: action, method and the fields it would submit. */
export function readForm(
  html: string,
  options: BrowserOptions,
): { action: string; method: string; body: URLSearchParams } | null {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return null;
  const attrs = form[1] ?? "";
  const inner = form[2] ?? "";
  const action = decode(/action="([^"]*)"/i.exec(attrs)?.[1] ?? "");
  const method = (/method="([^"]*)"/i.exec(attrs)?.[1] ?? "get").toUpperCase();
  const body = new URLSearchParams();
  for (const input of inner.matchAll(/<input\b([^>]*)>/gi)) {
    const a = input[1] ?? "";
    const name = /name="([^"]*)"/i.exec(a)?.[1];
    if (!name) continue;
    const value = decode(/value="([^"]*)"/i.exec(a)?.[1] ?? "");
    body.set(name, options.fields?.[name] ?? value);
  }
  const buttons = [...inner.matchAll(/<button\b([^>]*)>/gi)].map((b) => b[1] ?? "");
  const button =
    buttons.find((b) => options.press && b.includes(`value="${options.press}"`)) ??
    buttons.find((b) => /name="/.test(b));
  const buttonName = button && /name="([^"]*)"/i.exec(button)?.[1];
  if (button && buttonName) body.set(buttonName, decode(/value="([^"]*)"/i.exec(button)?.[1] ?? ""));
  return { action, method, body };
}

/** Runs the flow from `start` until a redirect to `redirectUri`. */
export async function browse(start: string, redirectUri: string, options: BrowserOptions = {}): Promise<BrowserVisit> {
  const jar: Jar = new Map();
  const trail: string[] = [];
  let url = new URL(start);
  let init: RequestInit = { method: "GET" };
  for (let step = 0; step < (options.maxSteps ?? 20); step++) {
    if (url.toString().startsWith(redirectUri)) return { final: url, trail };
    trail.push(`${init.method} ${url}`);
    const headers = new Headers(init.headers);
    const cookie = cookieHeader(jar, url);
    if (cookie) headers.set("cookie", cookie);
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    storeCookies(jar, url, res);
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      url = new URL(location, url);
      init = { method: "GET" };
      continue;
    }
    const text = await res.text();
    const form = res.ok ? readForm(text, options) : null;
    if (!form) throw new Error(`browser stopped at ${res.status} ${url}: ${text.slice(0, 300)}`);
    url = new URL(form.action || url.toString(), url);
    init =
      form.method === "POST"
        ? { method: "POST", body: form.body, headers: { "content-type": "application/x-www-form-urlencoded" } }
        : { method: "GET" };
    if (form.method !== "POST") url.search = form.body.toString();
  }
  throw new Error(`browser gave up after ${options.maxSteps ?? 20} steps: ${trail.join(" → ")}`);
}
