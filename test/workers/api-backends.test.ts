import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, createBackend, errorOf, uniqueName } from "./helpers";

describe("/api/backends", () => {
  it("creates, reads, lists, updates and deletes a backend", async () => {
    const name = uniqueName("gh");
    const created = await api("POST", "/api/backends", {
      body: { name, url: "https://93.184.215.14/mcp", headers: { "X-Api-Key": "upstream-secret" }, timeoutMs: 5000 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name,
      url: "https://93.184.215.14/mcp",
      transport: "streamable-http",
      headers: { "X-Api-Key": "********" },
      timeoutMs: 5000,
      healthIntervalSeconds: 30,
      failureThreshold: 5,
      cooldownSeconds: 30,
      enabled: true,
    });

    const read = await api("GET", `/api/backends/${name}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);

    const list = await api("GET", "/api/backends");
    expect((list.body as Array<{ name: string }>).map((b) => b.name)).toContain(name);

    const patched = await api("PATCH", `/api/backends/${name}`, { body: { enabled: false, transport: "sse" } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      name,
      enabled: false,
      transport: "sse",
      headers: { "X-Api-Key": "********" },
    });

    const deleted = await api("DELETE", `/api/backends/${name}`);
    expect(deleted.status).toBe(204);
    expect((await api("GET", `/api/backends/${name}`)).status).toBe(404);
  });

  it("never stores or returns header values in plain text", async () => {
    const name = await createBackend({ headers: { Authorization: "Bearer very-secret-value" } });
    const row = await env.DB.prepare("SELECT * FROM backends WHERE name = ?").bind(name).first();
    expect(JSON.stringify(row)).not.toContain("very-secret-value");
    const all = await api("GET", "/api/backends");
    expect(all.text).not.toContain("very-secret-value");
  });

  it("keeps a masked header value on PATCH and replaces the others", async () => {
    const name = await createBackend({ headers: { Authorization: "Bearer keep-me", "X-Old": "drop-me" } });
    const res = await api("PATCH", `/api/backends/${name}`, {
      body: { headers: { Authorization: "********", "X-New": "new" } },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ headers: { Authorization: "********", "X-New": "********" } });
    expect((res.body as { headers: Record<string, string> }).headers).not.toHaveProperty("X-Old");
  });

  it("rejects a masked header value that has nothing stored to keep", async () => {
    const name = await createBackend();
    const res = await api("PATCH", `/api/backends/${name}`, { body: { headers: { Authorization: "********" } } });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).details).toEqual([{ path: "headers.Authorization", message: expect.any(String) }]);
  });

  it("returns 409 on a duplicate name and leaves the first intact", async () => {
    const name = await createBackend({ timeoutMs: 1234 });
    const dup = await api("POST", "/api/backends", { body: { name, url: "https://93.184.215.15/other" } });
    expect(dup.status).toBe(409);
    expect(errorOf(dup.body).code).toBe("conflict");
    const read = await api("GET", `/api/backends/${name}`);
    expect(read.body).toMatchObject({ url: "https://93.184.215.14/mcp", timeoutMs: 1234 });
  });

  it("names every invalid field in a 400", async () => {
    const res = await api("POST", "/api/backends", {
      body: { name: "Not A Slug", url: "ftp://example.com", timeoutMs: "soon", transport: "carrier-pigeon", extra: 1 },
    });
    expect(res.status).toBe(400);
    const paths = errorOf(res.body).details?.map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(["name", "url", "timeoutMs", "transport", "extra"]));
  });

  it.each([
    ["a name longer than 32 characters", { name: "a".repeat(33), url: "https://93.184.215.14/" }, "name"],
    ["a URL with credentials", { name: "creds", url: "https://user:pw@93.184.215.14/" }, "url"],
    ["a reserved header", { name: "hdr", url: "https://93.184.215.14/", headers: { Host: "x" } }, "headers.Host"],
    [
      "a header value with CRLF",
      { name: "crlf", url: "https://93.184.215.14/", headers: { "X-A": "a\r\nb" } },
      "headers.X-A",
    ],
    ["a missing URL", { name: "nourl" }, "url"],
    [
      "a failureThreshold of 0",
      { name: "ft0", url: "https://93.184.215.14/", failureThreshold: 0 },
      "failureThreshold",
    ],
    [
      "a failureThreshold over 100",
      { name: "ft101", url: "https://93.184.215.14/", failureThreshold: 101 },
      "failureThreshold",
    ],
    [
      "a fractional failureThreshold",
      { name: "ftf", url: "https://93.184.215.14/", failureThreshold: 2.5 },
      "failureThreshold",
    ],
    ["a cooldownSeconds of 0", { name: "cd0", url: "https://93.184.215.14/", cooldownSeconds: 0 }, "cooldownSeconds"],
    [
      "a cooldownSeconds over an hour",
      { name: "cd3601", url: "https://93.184.215.14/", cooldownSeconds: 3601 },
      "cooldownSeconds",
    ],
  ])("rejects %s", async (_label, body, path) => {
    const res = await api("POST", "/api/backends", { body });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).details?.map((d) => d.path)).toContain(path);
  });

  it("stores the breaker settings and validates them on PATCH too", async () => {
    const name = await createBackend({ failureThreshold: 2, cooldownSeconds: 7 });
    expect((await api("GET", `/api/backends/${name}`)).body).toMatchObject({ failureThreshold: 2, cooldownSeconds: 7 });
    const patched = await api("PATCH", `/api/backends/${name}`, { body: { cooldownSeconds: 3600 } });
    expect(patched.body).toMatchObject({ failureThreshold: 2, cooldownSeconds: 3600 });
    const bad = await api("PATCH", `/api/backends/${name}`, { body: { failureThreshold: 0, cooldownSeconds: "1" } });
    expect(bad.status).toBe(400);
    expect(errorOf(bad.body).details?.map((d) => d.path)).toEqual(
      expect.arrayContaining(["failureThreshold", "cooldownSeconds"]),
    );
    expect((await api("GET", `/api/backends/${name}`)).body).toMatchObject({ failureThreshold: 2 });
  });

  it("returns 404 for unknown backends on read, update and delete", async () => {
    for (const method of ["GET", "PATCH", "DELETE"]) {
      const res = await api(
        method,
        "/api/backends/does-not-exist",
        method === "PATCH" ? { body: { enabled: false } } : {},
      );
      expect(res.status, method).toBe(404);
      expect(errorOf(res.body).code).toBe("not_found");
    }
  });

  it("returns 409 when deleting a backend a virtual server uses", async () => {
    const backend = await createBackend();
    const server = uniqueName("s");
    expect((await api("POST", "/api/servers", { body: { name: server, backends: [backend] } })).status).toBe(201);
    const res = await api("DELETE", `/api/backends/${backend}`);
    expect(res.status).toBe(409);
    expect(errorOf(res.body).details).toEqual({ servers: [server] });
    expect((await api("GET", `/api/backends/${backend}`)).status).toBe(200);
  });
});

describe("backend URL safety", () => {
  it.each([
    "http://127.0.0.1:8080/mcp",
    "http://localhost/mcp",
    "http://10.1.2.3/",
    "http://192.168.1.1/",
    "http://172.20.0.1/",
    "http://169.254.169.254/latest/meta-data",
    "http://metadata.google.internal/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://2130706433/",
    "http://0x7f.0.0.1/",
    "http://intranet/",
  ])("refuses %s when private backends are not allowed", async (url) => {
    const res = await api("POST", "/api/backends", { body: { name: uniqueName("p"), url } });
    expect(res.status).toBe(400);
    expect(errorOf(res.body).details?.[0]?.path).toBe("url");
  });

  it("refuses a private URL on PATCH too, keeping the old URL", async () => {
    const name = await createBackend();
    const res = await api("PATCH", `/api/backends/${name}`, { body: { url: "http://10.0.0.1/mcp" } });
    expect(res.status).toBe(400);
    expect((await api("GET", `/api/backends/${name}`)).body).toMatchObject({ url: "https://93.184.215.14/mcp" });
  });
});
