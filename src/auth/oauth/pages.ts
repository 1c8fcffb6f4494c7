/**
 * The built-in authorization server's two HTML pages: the consent screen and
 * an error page. Plain server-rendered HTML, small and accessible (a labelled
 * form, real buttons, no script), every client-supplied string escaped, with
 * a strict Content-Security-Policy and no framing (clickjacking).
 */

/** What the consent page shows. */
export interface ConsentView {
  clientName: string;
  clientDomain?: string;
  redirectHost: string;
  redirectIsLoopback: boolean;
  scopes: readonly string[];
  /** The resource the token will be for. */
  resource: string;
  handle: string;
  action: string;
}

const SCOPE_TEXT: Record<string, string> = {
  mcp: "Use the MCP tools, prompts and resources you have access to",
  admin: "Read and change the gateway's configuration as far as your roles allow",
};

/** HTML-escapes text for element content and quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const STYLE =
  "body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#111}" +
  "button{font:inherit;padding:.5rem 1.25rem;margin-right:.5rem;border-radius:.25rem;border:1px solid #333}" +
  "button[value=approve]{background:#1d4ed8;color:#fff;border-color:#1d4ed8}.warn{color:#9a3412}";

/** Headers every page gets. */
export const PAGE_HEADERS: Record<string, string> = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https: http:; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
};

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

/** The consent screen: names the client, where the tokens go, the resource and the scopes. */
export function consentPage(v: ConsentView): string {
  const client = escapeHtml(v.clientName);
  const domain = v.clientDomain ? ` <span>(${escapeHtml(v.clientDomain)})</span>` : " <span>(unverified name)</span>";
  const scopes = v.scopes
    .map((s) => `<li><code>${escapeHtml(s)}</code>: ${escapeHtml(SCOPE_TEXT[s] ?? "Unknown permission")}</li>`)
    .join("");
  const loopback = v.redirectIsLoopback
    ? '<p class="warn">The tokens go to an app on this computer. Any local program could be listening: continue only if you started this sign-in.</p>'
    : "";
  return page(
    `Allow ${v.clientName}?`,
    `<h1>Allow <strong>${client}</strong>${domain} to use the MCP gateway?</h1>
<p>It asks for access to <code>${escapeHtml(v.resource)}</code> with these permissions:</p>
<ul>${scopes}</ul>
<p>Tokens will be sent to <strong>${escapeHtml(v.redirectHost)}</strong>.</p>${loopback}
<form method="post" action="${escapeHtml(v.action)}">
<input type="hidden" name="handle" value="${escapeHtml(v.handle)}">
<button type="submit" name="decision" value="approve">Allow and sign in</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`,
  );
}

/** An error page (no details that could help an attacker; the status says what kind). */
export function errorPage(message: string): string {
  return page("Sign-in problem", `<h1>Sign-in problem</h1><p>${escapeHtml(message)}</p>`);
}
