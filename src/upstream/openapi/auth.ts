/**
 * The one place that decides which credentials an OpenAPI backend's requests
 * carry. Today: the backend's configured (encrypted at rest) headers, never
 * anything of the MCP client's (design, "Security by default"). A backend
 * with upstream OAuth (`auth`) arrives here already carrying the caller's own
 * bearer token in `backend.headers` (core/upstream-auth.ts, `withBearer`), so
 * REST APIs act as each user exactly as MCP backends do.
 */
import type { BackendConfig } from "../../config/snapshot";
import { BackendFailure } from "../failure";

/** The headers that authenticate the gateway to an OpenAPI backend (its configured headers). */
export function openApiAuthHeaders(backend: BackendConfig): Headers {
  // A backend whose stored headers no key opens is not called without them (as `http.ts` refuses).
  if (backend.headersUnreadable) {
    throw new BackendFailure(
      backend.name,
      "credentials",
      `Backend '${backend.name}' cannot be called: its stored headers cannot be decrypted; re-enter them`,
    );
  }
  return new Headers(backend.headers);
}
