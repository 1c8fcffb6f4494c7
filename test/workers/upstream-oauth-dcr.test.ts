// Covers dynamic client registration's bad input inside workerd: a clientSecret without clientId, an authorization server without a registration endpoint (400 at save time when discoverable, a JSON-RPC error naming it on the call when not), never a 5xx.
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN, api, errorOf, uniqueName } from "./helpers";
import { type FakeBackend, fakeBackend, route } from "./outbound";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** An authorization server's RFC 8414 metadata at `issuer`, without a registration endpoint. */
function serveMetadata(issuer: string): void {
  cleanups.push(
    route(`${issuer}/.well-known/oauth-authorization-server`, () =>
      Response.json({
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        token_endpoint_auth_methods_supported: ["client_secret_basic"],
      }),
    ),
  );
}

async function post(body: unknown, session?: string): Promise<Response> {
  return exports.default.fetch("http://localhost/mcp", {
    method: "POST",
    headers: {
      accept: "application/json, text/event-stream",
      "content-type": "application/json",
      authorization: `Bearer ${ADMIN}`,
      ...(session && { "mcp-session-id": session }),
    },
    body: JSON.stringify(body),
  });
}

describe("dynamic client registration: bad input", () => {
  it("refuses a clientSecret without clientId and an empty clientId", async () => {
    for (const auth of [
      { type: "oauth", clientSecret: "s3cret" },
      { type: "oauth", clientId: "" },
    ]) {
      const res = await api("POST", "/api/backends", {
        body: { name: uniqueName("dcr"), url: "https://93.184.215.14/mcp", auth },
      });
      expect(res.status).toBe(400);
      expect(errorOf(res.body).code).toBe("validation_failed");
      expect(res.text).not.toContain("s3cret");
    }
  });

  it("refuses at save time a server whose metadata has no registration endpoint (POST and PATCH)", async () => {
    const issuer = "https://93.184.215.31";
    serveMetadata(issuer);
    const name = uniqueName("dcr");
    const res = await api("POST", "/api/backends", {
      body: { name, url: "https://93.184.215.14/mcp", auth: { type: "oauth", issuer } },
    });
    expect(res.status).toBe(400);
    const error = errorOf(res.body);
    expect(error.details?.[0]?.path).toBe("auth.clientId");
    expect(error.details?.[0]?.message).toContain("registration_endpoint");
    const created = await api("POST", "/api/backends", {
      body: { name, url: "https://93.184.215.14/mcp", auth: { type: "oauth", issuer, clientId: "gw" } },
    });
    expect(created.status).toBe(201);
    const patched = await api("PATCH", `/api/backends/${name}`, { body: { auth: { type: "oauth", issuer } } });
    expect(patched.status).toBe(400);
    expect(errorOf(patched.body).details?.[0]?.path).toBe("auth.clientId");
  });

  it("accepts a server it cannot read now, and the call names the missing registration endpoint", async () => {
    const issuer = "https://93.184.215.32";
    const name = uniqueName("dcr");
    const fake: FakeBackend = fakeBackend(`https://93.184.215.14/${name}/mcp`, ["echo"]);
    cleanups.push(() => fake.close());
    // No route for the issuer yet: discovery fails, so the save cannot tell and accepts.
    const created = await api("POST", "/api/backends", {
      body: { name, url: fake.url, auth: { type: "oauth", issuer } },
    });
    expect(created.status).toBe(201);
    expect((created.body as { auth: unknown }).auth).toMatchObject({ registration: "dynamic", clientId: null });
    serveMetadata(issuer);
    const init = await post({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    });
    const session = init.headers.get("mcp-session-id") as string;
    await init.body?.cancel();
    const call = await post(
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: `${name}__echo`, arguments: {} } },
      session,
    );
    expect(call.status).toBeLessThan(500);
    const reply = (await call.json()) as { id: number; error: { message: string; data: { reason: string } } };
    expect(reply.id).toBe(2);
    expect(reply.error.message).toContain("no dynamic client registration");
    expect(reply.error.data.reason).toBe("upstream-registration");
  });
});
