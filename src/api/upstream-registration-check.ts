/**
 * Save-time check of a backend saved without `clientId` (README, "Upstream
 * OAuth"): the gateway will register its client dynamically (RFC 7591), so
 * an authorization server that advertises no `registration_endpoint` is a
 * 400 now rather than a failing call later. A server that cannot be reached
 * or read now is accepted: the first call names the problem then.
 */

import type { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { UpstreamAuth } from "../config/shapes";
import type { AppEnv } from "../env";
import { HttpError } from "../errors";
import { registrationEndpoint } from "../upstream/oauth-client";

/** The save waits at most this long for the server's metadata (then the check is left to the first call). */
const CHECK_DEADLINE_MS = 8_000;

/** 400 when `auth` asks for dynamic registration and its server has no registration endpoint. */
export async function assertRegistrable(
  c: Context<AppEnv>,
  auth: z.infer<typeof UpstreamAuth> | null | undefined,
  backendUrl: string,
): Promise<void> {
  if (!auth || auth.clientId !== undefined) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let endpoint: string | null | undefined;
  try {
    endpoint = await Promise.race([
      registrationEndpoint(
        {
          type: "oauth",
          grant: auth.grant ?? "authorization_code",
          issuer: auth.issuer ?? null,
          registration: "dynamic",
          clientId: "",
          clientSecret: null,
          scopes: auth.scopes ?? [],
          resource: auth.resource ?? backendUrl,
        },
        c.env,
      ),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), CHECK_DEADLINE_MS);
      }),
    ]);
  } catch {
    endpoint = undefined; // Not discoverable now: the first call reports it.
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
  if (endpoint === null)
    throw new HttpError(400, "validation_failed", "Invalid request", [
      {
        path: "auth.clientId",
        message:
          "is required: the authorization server has no registration_endpoint (RFC 7591 dynamic client registration); register a client there and set clientId",
      },
    ]);
}
