/**
 * The preamble every MCP request goes through, as Hono middleware (each
 * `name(options = {}): MiddlewareHandler` returning a named function, like
 * Hono's own): the request's span, the caller checks against DNS rebinding,
 * and authentication for the endpoint. What they establish is on the
 * context's variables (`McpEnv`), so handlers start from a known caller.
 */
import type { MiddlewareHandler } from "hono";
import { bearerSecret } from "../auth/authenticate";
import { canUseMcp } from "../auth/principal";
import { type Endpoint, resolveEndpoint } from "../core/federation";
import type { AppEnv } from "../env";
import { SpanRecorder } from "../observability/span";
import { requestTrace } from "../observability/trace-context";
import { ErrorCode } from "../protocol/jsonrpc";
import { authenticateCached } from "./auth-cache";
import { TransportError } from "./errors";
import { checkHost, checkOrigin } from "./transport";

/** The Hono environment of the MCP routes. */
export interface McpEnv {
  Bindings: AppEnv["Bindings"];
  Variables: AppEnv["Variables"] & {
    /** This request's spans (`mcpSpan`). */
    spans: SpanRecorder;
    /** The principal the request acts as: an API token id, `admin` or `anonymous` (`mcpAuth`). */
    subject: string;
    /** The endpoint asked for: `/mcp` or one virtual server (`mcpAuth`). */
    endpoint: Endpoint;
  };
}

const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="mcp-gateway"' };

/**
 * Runs the request inside its span. The span ends when the response is
 * produced (a streamed call's backend span ends with its stream), and the
 * finished spans go to the queue in `waitUntil`: never awaited (design rule 2).
 */
export function mcpSpan(): MiddlewareHandler<McpEnv> {
  return async function mcpSpanMiddleware(c, next) {
    const spans = new SpanRecorder(requestTrace(c.req.header("traceparent")), c.env.SPANS, (work) =>
      c.executionCtx.waitUntil(work),
    );
    spans.root.set({ server: c.req.param("name") ?? "*" });
    c.set("spans", spans);
    await next();
    const failed = c.res.status >= 400 || spans.root.attributes["rpc.error"] !== undefined;
    spans.root.end(failed ? "error" : "ok", { "http.status": c.res.status });
    spans.flush();
  };
}

function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

/** DNS-rebinding protection (MCP basic/transports, "Security Warning"): Host when configured, and Origin. */
export function callerChecks(): MiddlewareHandler<McpEnv> {
  return async function callerChecksMiddleware(c, next) {
    checkHost(c.req.raw, list(c.env.ALLOWED_HOSTS));
    checkOrigin(c.req.raw, list(c.env.ALLOWED_ORIGINS));
    await next();
  };
}

/**
 * Authenticates the caller for the endpoint: an unknown server is 404, a
 * server with `auth: "none"` needs no token, otherwise a bearer token that may
 * use this endpoint (401 without or with a bad one, 403 for another server's).
 */
export function mcpAuth(): MiddlewareHandler<McpEnv> {
  return async function mcpAuthMiddleware(c, next) {
    const serverName = c.req.param("name") ?? null;
    const config = c.get("config");
    const endpoint = resolveEndpoint(config, serverName);
    if (!endpoint) throw new TransportError(404, ErrorCode.ServerError, `Unknown server '${serverName}'`);
    c.set("endpoint", endpoint);
    if (endpoint.server?.auth === "none") {
      c.set("subject", "anonymous");
      return next();
    }
    const secret = bearerSecret(c.req.header("authorization"));
    if (!secret) throw new TransportError(401, ErrorCode.ServerError, "Unauthorized: missing bearer token", CHALLENGE);
    const principal = await authenticateCached(secret, c.env.ADMIN_TOKEN, config);
    if (!principal) {
      throw new TransportError(401, ErrorCode.ServerError, "Unauthorized: invalid or expired token", CHALLENGE);
    }
    c.get("spans").root.set({ token: principal.name });
    if (!canUseMcp(principal, serverName)) {
      throw new TransportError(403, ErrorCode.ServerError, "Forbidden: this token may not use this endpoint");
    }
    c.set("subject", principal.kind === "admin" ? "admin" : principal.id);
    await next();
  };
}
