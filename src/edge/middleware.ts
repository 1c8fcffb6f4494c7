/**
 * The preamble every MCP request goes through, as Hono middleware (each
 * `name(options = {}): MiddlewareHandler` returning a named function, like
 * Hono's own): the request's span, the caller checks against DNS rebinding,
 * and authentication for the endpoint. What they establish is on the
 * context's variables (`McpEnv`), so handlers start from a known caller.
 */
import type { MiddlewareHandler } from "hono";
import { bearerSecret } from "../auth/authenticate";
import { authenticateCaller } from "../auth/caller";
import { bearerChallenge, gatewayOrigin, resourceId, resourcePath } from "../auth/oauth/resource";
import { ANONYMOUS, canUseMcp } from "../auth/principal";
import { type Endpoint, resolveEndpoint } from "../core/federation";
import type { AppEnv } from "../env";
import { SpanRecorder } from "../observability/span";
import { requestTrace } from "../observability/trace-context";
import { ErrorCode } from "../protocol/jsonrpc";
import { authenticateCached } from "./auth-cache";
import { callerEndpoint } from "./caller-access";
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
 * Authenticates the caller for the endpoint (MCP basic/authorization): an
 * unknown server is 404, a server with `auth: "none"` needs no token,
 * otherwise a bearer credential valid for this endpoint's resource
 * identifier: 401 without or with a bad one, its `WWW-Authenticate` naming
 * the RFC 9728 metadata; 403 `insufficient_scope` for a valid one without
 * the `mcp` scope or for another server. A server the caller may not see is
 * 404 like an unknown one, and the endpoint keeps only the backends the
 * caller may use (`auth/endpoint-access.ts`), so listing and calling agree.
 */
export function mcpAuth(): MiddlewareHandler<McpEnv> {
  return async function mcpAuthMiddleware(c, next) {
    const serverName = c.req.param("name") ?? null;
    const config = c.get("config");
    const endpoint = resolveEndpoint(config, serverName);
    const unknown = () => new TransportError(404, ErrorCode.ServerError, `Unknown server '${serverName}'`);
    if (!endpoint) throw unknown();
    let principal = ANONYMOUS;
    if (endpoint.server?.auth !== "none") {
      const origin = gatewayOrigin(c.env, c.req.url);
      const path = resourcePath(serverName);
      const challenge = (error?: "invalid_token" | "insufficient_scope") => ({
        "WWW-Authenticate": bearerChallenge(origin, path, "mcp", error),
      });
      const secret = bearerSecret(c.req.header("authorization"));
      if (!secret)
        throw new TransportError(401, ErrorCode.ServerError, "Unauthorized: missing bearer token", challenge());
      const result = await authenticateCaller(secret, c.env, config, resourceId(origin, path), origin, (s) =>
        authenticateCached(s, c.env.ADMIN_TOKEN, config),
      );
      if ("failure" in result) {
        throw new TransportError(
          401,
          ErrorCode.ServerError,
          "Unauthorized: invalid or expired token",
          challenge("invalid_token"),
        );
      }
      principal = result.principal;
      c.get("spans").root.set(
        principal.kind === "oauth"
          ? { subject: principal.subject }
          : { token: principal.name, subject: principal.subject },
      );
      if (!canUseMcp(principal, serverName)) {
        throw new TransportError(
          403,
          ErrorCode.ServerError,
          "Forbidden: this token may not use this endpoint",
          challenge("insufficient_scope"),
        );
      }
    }
    const scoped = callerEndpoint(endpoint, principal);
    if (scoped === "hidden") throw unknown();
    if (scoped === "read-only") {
      throw new TransportError(403, ErrorCode.ServerError, "Forbidden: this caller may read but not use this server");
    }
    c.set("endpoint", scoped);
    c.set("principal", principal);
    c.set("subject", principal.subject);
    await next();
  };
}
