import { describe, expect, it } from "vitest";
import { api, errorOf, uniqueName } from "./helpers";

describe("admin API authentication", () => {
  it("401 without a token, with a challenge", async () => {
    const res = await api("GET", "/api/backends", { token: null });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(errorOf(res.body).code).toBe("unauthorized");
  });

  it.each(["wrong-token", "test-admin-token-x", "mcpgw_doesnotexist"])("401 with a wrong token (%s)", async (token) => {
    const res = await api("GET", "/api/backends", { token });
    expect(res.status).toBe(401);
  });

  it("401 for a malformed Authorization header", async () => {
    const res = await api("GET", "/api/backends", { token: null, headers: { authorization: "Basic dGVzdA==" } });
    expect(res.status).toBe(401);
  });

  it("403 for an API token without the admin scope, 200 with it", async () => {
    const mcpOnly = await api("POST", "/api/tokens", { body: { name: uniqueName("mcp"), scopes: ["mcp"] } });
    const admin = await api("POST", "/api/tokens", { body: { name: uniqueName("adm"), scopes: ["admin"] } });
    const mcpSecret = (mcpOnly.body as { token: string }).token;
    const adminSecret = (admin.body as { token: string }).token;

    const denied = await api("GET", "/api/backends", { token: mcpSecret });
    expect(denied.status).toBe(403);
    expect(errorOf(denied.body).code).toBe("forbidden");
    expect((await api("GET", "/api/backends", { token: adminSecret })).status).toBe(200);
  });

  it("401 after a token is revoked", async () => {
    const created = await api("POST", "/api/tokens", { body: { name: uniqueName("rev"), scopes: ["admin"] } });
    const { id, token } = created.body as { id: string; token: string };
    expect((await api("GET", "/api/tokens", { token })).status).toBe(200);
    expect((await api("DELETE", `/api/tokens/${id}`)).status).toBe(204);
    expect((await api("GET", "/api/tokens", { token })).status).toBe(401);
  });
});

describe("admin API input errors", () => {
  it("400 invalid_json for malformed JSON, never a 500", async () => {
    const res = await api("POST", "/api/backends", {
      rawBody: '{"name": "x", ',
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).code).toBe("invalid_json");
  });

  it("400 for a JSON body that is not an object", async () => {
    const res = await api("POST", "/api/servers", { body: [1, 2, 3] });
    expect(res.status).toBe(400);
  });

  it("415 for a non-JSON content type", async () => {
    const res = await api("POST", "/api/backends", { rawBody: "name=x", headers: { "content-type": "text/plain" } });
    expect(res.status).toBe(415);
  });

  it("413 for a body over 1 MiB, and nothing is stored", async () => {
    const name = uniqueName("big");
    const res = await api("POST", "/api/servers", {
      body: { name, tools: ["x".repeat(100)], padding: "y".repeat(1024 * 1024) },
    });
    expect(res.status).toBe(413);
    expect(errorOf(res.body).code).toBe("payload_too_large");
    expect((await api("GET", `/api/servers/${name}`)).status).toBe(404);
  });

  it("404 JSON for an unknown route", async () => {
    const res = await api("GET", "/api/nothing-here");
    expect(res.status).toBe(404);
    expect(errorOf(res.body).code).toBe("not_found");
  });

  it("never includes a stack trace in errors", async () => {
    const res = await api("POST", "/api/backends", { rawBody: "{", headers: { "content-type": "application/json" } });
    expect(res.text).not.toMatch(/at \w+ \(|\.ts:\d+/);
  });
});

describe("public endpoints", () => {
  it("GET /health is ok without credentials", async () => {
    const res = await api("GET", "/health", { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "ok" });
  });

  it("serves an OpenAPI 3.1 document describing every admin route", async () => {
    const res = await api("GET", "/api/openapi.json", { token: null });
    expect(res.status).toBe(200);
    const doc = res.body as { openapi: string; servers: unknown; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers).toEqual([{ url: "/api" }]);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/backends",
        "/backends/{name}",
        "/servers",
        "/servers/{name}",
        "/tokens",
        "/tokens/{id}",
      ]),
    );
    expect(Object.keys(doc.paths["/backends"] ?? {})).toEqual(expect.arrayContaining(["get", "post"]));
  });
});
