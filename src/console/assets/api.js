/**
 * The console's only way to the gateway: the admin REST API under /api, with
 * the session cookie (sent by the browser) and, on writes, the session's
 * CSRF token from the page's <meta name="csrf-token">.
 */

const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";

/** An error answer of the admin API: status, code, message and the invalid fields. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {unknown} details
   */
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** @returns {Array<{ path: string, message: string }>} */
  get fields() {
    return Array.isArray(this.details)
      ? this.details.filter((d) => d && typeof d.path === "string" && typeof d.message === "string")
      : [];
  }
}

/**
 * Calls the admin API; resolves with the parsed JSON (null for 204), rejects with ApiError.
 * A 401 means the session ended: back to the sign-in page.
 * @param {string} method
 * @param {string} path under /api, e.g. "/backends"
 * @param {unknown} [body]
 * @returns {Promise<any>} `any` on purpose: this is plain JavaScript served as is, each page reads
 *   the fields of the one route it called (the OpenAPI document is the contract), and `unknown`
 *   would only add a JSDoc cast at every call site without checking anything more.
 */
export async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: "application/json" };
  if (method !== "GET") headers["x-csrf-token"] = csrf;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`/api${path}`, {
    method,
    headers,
    credentials: "same-origin",
    cache: "no-store",
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  if (res.status === 401) {
    location.assign("/admin/login");
    throw new ApiError(401, "unauthorized", "The session has ended", undefined);
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(res.status, "invalid_response", `HTTP ${res.status}`, undefined);
  }
  if (!res.ok) {
    const error = json?.error ?? {};
    throw new ApiError(res.status, error.code ?? "error", error.message ?? `HTTP ${res.status}`, error.details);
  }
  return json;
}

/** Signs out: the server clears the cookie. */
export async function signOut() {
  await fetch("/admin/logout", { method: "POST", headers: { "x-csrf-token": csrf }, credentials: "same-origin" });
  location.assign("/admin/login");
}
