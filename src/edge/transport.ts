/**
 * Streamable HTTP transport checks (MCP 2025-11-25 basic/transports): Host,
 * Origin, protocol version and Accept. Each throws a TransportError.
 */
import { ErrorCode } from "../protocol/jsonrpc";
import { DEFAULT_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from "../protocol/versions";
import { TransportError } from "./errors";

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Host validation against DNS rebinding: when `ALLOWED_HOSTS` is set (as
 * `npm start` does: localhost, 127.0.0.1, [::1]), a request for any other host
 * name is refused. A deployment is reached only through the hostnames
 * Cloudflare routes to it, so it needs no list.
 */
export function checkHost(request: Request, allowedHosts: readonly string[]): void {
  if (allowedHosts.length === 0) return;
  const host = new URL(request.url).hostname.toLowerCase();
  if (!allowedHosts.includes(host)) throw new TransportError(403, ErrorCode.ServerError, "Forbidden: Host not allowed");
}

/**
 * Origin validation against DNS rebinding (basic/transports, "Security
 * Warning"): a request with an Origin is allowed only from the gateway's own
 * origin, a configured origin, or loopback; anything else is 403.
 */
export function checkOrigin(request: Request, allowed: readonly string[]): void {
  const origin = request.headers.get("origin");
  if (!origin) return;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    throw new TransportError(403, ErrorCode.ServerError, "Forbidden: invalid Origin");
  }
  const own = new URL(request.url);
  if (parsed.host === own.host && parsed.protocol === own.protocol) return;
  if (LOOPBACK_HOSTS.has(parsed.hostname) && LOOPBACK_HOSTS.has(own.hostname)) return;
  if (allowed.includes(parsed.origin)) return;
  throw new TransportError(403, ErrorCode.ServerError, "Forbidden: Origin not allowed");
}

/** `MCP-Protocol-Version`: absent means 2025-03-26; unsupported is 400. */
export function checkProtocolVersion(request: Request): string {
  const version = request.headers.get("mcp-protocol-version");
  if (version === null) return DEFAULT_PROTOCOL_VERSION;
  if (!(SUPPORTED_PROTOCOL_VERSIONS as readonly string[]).includes(version)) {
    throw new TransportError(
      400,
      ErrorCode.ServerError,
      `Bad Request: Unsupported protocol version: ${version.slice(0, 32)} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")})`,
    );
  }
  return version;
}

/** POST must accept both JSON and SSE; GET must accept SSE. */
export function checkAccept(request: Request, needs: readonly string[]): void {
  const accept = request.headers.get("accept") ?? "";
  const ok = needs.every((type) => accept.includes(type) || accept.includes("*/*"));
  if (!ok)
    throw new TransportError(406, ErrorCode.ServerError, `Not Acceptable: Client must accept ${needs.join(" and ")}`);
}
