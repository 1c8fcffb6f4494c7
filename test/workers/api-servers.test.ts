import { describe, expect, it } from "vitest";
import { api, createBackend, errorOf, uniqueName } from "./helpers";

describe("/api/servers", () => {
  it("creates with defaults, reads, lists, updates and deletes", async () => {
    const backend = await createBackend();
    const name = uniqueName("vs");
    const created = await api("POST", "/api/servers", { body: { name, backends: [backend] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name,
      backends: [backend],
      tools: null,
      prefix: true,
      auth: "token",
      discovery: "list",
    });

    expect((await api("GET", `/api/servers/${name}`)).body).toEqual(created.body);
    const list = await api("GET", "/api/servers");
    expect((list.body as Array<{ name: string }>).some((s) => s.name === name)).toBe(true);

    const patched = await api("PATCH", `/api/servers/${name}`, {
      body: { prefix: false, auth: "none", tools: ["echo"] },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ prefix: false, auth: "none", tools: ["echo"], backends: [backend] });

    expect((await api("DELETE", `/api/servers/${name}`)).status).toBe(204);
    expect((await api("GET", `/api/servers/${name}`)).status).toBe(404);
  });

  it("stores the discovery mode, and refuses code mode with a 400 naming the reason", async () => {
    const name = uniqueName("vs");
    const created = await api("POST", "/api/servers", { body: { name, discovery: "search" } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ discovery: "search" });
    expect((await api("GET", `/api/servers/${name}`)).body).toMatchObject({ discovery: "search" });
    const back = await api("PATCH", `/api/servers/${name}`, { body: { discovery: "list" } });
    expect(back.body).toMatchObject({ discovery: "list" });

    const code = await api("PATCH", `/api/servers/${name}`, { body: { discovery: "code" } });
    expect(code.status).toBe(400);
    const issue = errorOf(code.body).details?.find((d) => d.path === "discovery");
    expect(issue?.message).toMatch(/code mode is not available.*worker_loaders/);
    const bad = await api("POST", "/api/servers", { body: { name: uniqueName("vs"), discovery: "grep" } });
    expect(bad.status).toBe(400);
    expect(errorOf(bad.body).details?.map((d) => d.path)).toEqual(["discovery"]);
    expect((await api("GET", `/api/servers/${name}`)).body).toMatchObject({ discovery: "list" });
  });

  it("documents the discovery mode in the OpenAPI document", async () => {
    type Prop = { enum?: string[]; description?: string };
    const doc = (await api("GET", "/api/openapi.json")).body as {
      components: { schemas: Record<string, { properties: Record<string, Prop> }> };
    };
    expect(doc.components.schemas.Server?.properties.discovery?.enum).toEqual(["list", "search", "code"]);
    expect(doc.components.schemas.ServerCreate?.properties.discovery?.description).toMatch(/search_tools/);
  });

  it("400 naming each unknown backend", async () => {
    const known = await createBackend();
    const res = await api("POST", "/api/servers", {
      body: { name: uniqueName("vs"), backends: [known, "ghost-1", "ghost-2"] },
    });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).details?.map((d) => d.path)).toEqual(["backends.1", "backends.2"]);
  });

  it("400 for repeated backends and bad fields", async () => {
    const res = await api("POST", "/api/servers", {
      body: { name: uniqueName("vs"), backends: ["a", "a"], prefix: "yes", auth: "basic" },
    });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).details?.map((d) => d.path)).toEqual(
      expect.arrayContaining(["backends", "prefix", "auth"]),
    );
  });

  it("409 on duplicate names", async () => {
    const name = uniqueName("vs");
    expect((await api("POST", "/api/servers", { body: { name } })).status).toBe(201);
    expect((await api("POST", "/api/servers", { body: { name } })).status).toBe(409);
  });

  it("409 when deleting a server an API token is limited to", async () => {
    const name = uniqueName("vs");
    await api("POST", "/api/servers", { body: { name } });
    const tokenName = uniqueName("tk");
    await api("POST", "/api/tokens", { body: { name: tokenName, scopes: ["mcp"], servers: [name] } });
    const res = await api("DELETE", `/api/servers/${name}`);
    expect(res.status).toBe(409);
    expect(errorOf(res.body).details).toEqual({ tokens: [tokenName] });
  });

  it("404 for unknown servers", async () => {
    expect((await api("GET", "/api/servers/nope")).status).toBe(404);
    expect((await api("PATCH", "/api/servers/nope", { body: { prefix: false } })).status).toBe(404);
    expect((await api("DELETE", "/api/servers/nope")).status).toBe(404);
  });
});
