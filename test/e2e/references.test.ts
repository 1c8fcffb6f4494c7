// End to end, two isolates: every reference a backend hands out (README, "References through the gateway") is followed back through the endpoint that gave it (list → call → read → subscribe), with SSE and JSON backends, both eras, an unprefixed server, server-everything, and an MCP App.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  McpError,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_MIME, type ReferenceBackend, startReferenceBackend, UI_EXTENSION } from "../fixtures/reference-backend";
import { adminCall } from "../helpers/admin-client";
import { eventually } from "../helpers/eventually";
import { type Gateway, startGateway } from "../helpers/gateway";

let gateway: Gateway;
let sse: ReferenceBackend;
let json: ReferenceBackend;
let plain: ReferenceBackend;
let everything: ChildProcess | undefined;
let everythingUrl: string;
let token: string;
const clients: Array<{ close(): Promise<void> }> = [];

const admin = (method: string, route: string, body?: unknown) =>
  adminCall(gateway.url, gateway.adminToken, method, route, body);

interface Connect {
  path?: string;
  ui?: boolean;
  /** Answers sampling, recording the URI linked in the request's tool result. */
  sampling?: string[];
}

async function connect(options: Connect = {}): Promise<Client> {
  const capabilities = {
    ...(options.sampling && { sampling: {} }),
    ...(options.ui && { extensions: { [UI_EXTENSION]: { mimeTypes: [APP_MIME] } } }),
  };
  const client = new Client({ name: "e2e-references", version: "1" }, { capabilities });
  const seen = options.sampling;
  if (seen) {
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      // The link sits in a tool_result block of the last message (sampling with tools).
      const last = request.params.messages.at(-1)?.content;
      const blocks = (Array.isArray(last) ? last : [last]) as Array<{ content?: Array<{ uri?: string }> }>;
      const uri = blocks[0]?.content?.[0]?.uri ?? "none";
      seen.push(uri);
      return { model: "m", role: "assistant", content: { type: "text", text: `read ${uri}` } };
    });
  }
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gateway.url}${options.path ?? "/mcp"}`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  clients.push(client);
  return client;
}

type Content = Array<{ type: string; uri?: string; text?: string; resource?: { uri: string } }>;
const contentOf = (result: unknown) => (result as { content: Content }).content;
const textOf = (result: unknown) =>
  contentOf(result)
    .map((c) => c.text ?? "")
    .join("");

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `@modelcontextprotocol/server-everything` over Streamable HTTP, as a new user would run it. */
async function startEverything(): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const entry = path.resolve("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
  const child = spawn(process.execPath, [entry, "streamableHttp"], {
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    let log = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("listening on port")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`server-everything exited (${code}): ${log}`)));
  });
  return { child, url: `http://127.0.0.1:${port}/mcp` };
}

beforeAll(async () => {
  let started: { child: ChildProcess; url: string };
  [gateway, sse, json, plain, started] = await Promise.all([
    startGateway({ isolates: 2 }),
    startReferenceBackend("refs"),
    startReferenceBackend("jrefs", { json: true }),
    startReferenceBackend("plain", { json: true }),
    startEverything(),
  ]);
  everything = started.child;
  everythingUrl = started.url;
  for (const [name, url] of [
    ["refs", sse.url],
    ["jrefs", json.url],
    ["plain", plain.url],
    ["everything", everythingUrl],
  ] as const) {
    const res = await admin("POST", "/api/backends", { name, url });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
  }
  const server = await admin("POST", "/api/servers", { name: "unprefixed", prefix: false, backends: ["plain"] });
  expect(server.status, JSON.stringify(server.json)).toBe(201);
  token = ((await admin("POST", "/api/tokens", { name: "e2e-references", scopes: ["mcp"] })).json as { token: string })
    .token;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  everything?.kill();
  await Promise.all([gateway?.stop(), sse?.close(), json?.close(), plain?.close()]);
});

describe.each([
  ["an SSE", "refs"],
  ["a JSON", "jrefs"],
])("references from %s backend on /mcp", (_shape, name) => {
  const doc = `mcpgw://${name}/mem://${name}/doc`;

  it("tool result resource_link: read it, subscribe to it, get its update (GET stream) with the same URI", async () => {
    const client = await connect();
    expect((await client.listTools()).tools.map((t) => t.name)).toContain(`${name}__links`);
    const link = contentOf(await client.callTool({ name: `${name}__links`, arguments: {} })).find(
      (c) => c.type === "resource_link",
    );
    expect(link?.uri).toBe(doc);
    const read = await client.readResource({ uri: doc });
    expect(read.contents[0]).toMatchObject({ uri: doc, text: `the doc of ${name}` });
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    await client.subscribeResource({ uri: doc });
    // The GET stream follows the upstream session once the gateway's poll finds it.
    await eventually(
      async () => {
        await client.callTool({ name: `${name}__touch`, arguments: {} });
        return updates.includes(doc);
      },
      10_000,
      250,
    );
    await client.unsubscribeResource({ uri: doc });
  });

  it("tool result embedded resource and _meta template: both readable", async () => {
    const client = await connect();
    const result = await client.callTool({ name: `${name}__links`, arguments: {} });
    const embedded = contentOf(result).find((c) => c.type === "resource")?.resource?.uri;
    expect(embedded).toBe(`mcpgw://${name}/mem://${name}/items/7`);
    expect((await client.readResource({ uri: embedded as string })).contents[0]).toMatchObject({ text: "item 7" });
    const template = (result._meta as Record<string, string>)["openai/outputTemplate"];
    expect(template).toBe(`ui://mcpgw.${name}/${name}/view.html`);
    expect((await client.readResource({ uri: template as string })).contents[0]).toMatchObject({ mimeType: APP_MIME });
  });

  it("structuredContent: the format-uri field is public and readable, other strings untouched", async () => {
    const client = await connect();
    await client.listTools();
    const result = await client.callTool({ name: `${name}__locate`, arguments: {} });
    expect(result.structuredContent).toEqual({ doc, label: `mem://${name}/doc` });
    expect((await client.readResource({ uri: doc })).contents).toHaveLength(1);
  });

  it("tool arguments: a public URI in a format-uri argument reaches the backend in its own form", async () => {
    const client = await connect();
    const result = await client.callTool({ name: `${name}__open`, arguments: { target: doc, note: doc } });
    const backend = name === "refs" ? sse : json;
    expect(textOf(result)).toBe(`mem://${name}/doc|${doc}`);
    expect(backend.seen).toContain(`mem://${name}/doc`);
  });

  it("prompt messages and completion: embedded and linked resources readable, completion refs routed", async () => {
    const client = await connect();
    const prompt = await client.getPrompt({ name: `${name}__cite`, arguments: { id: "7" } });
    const [first, second] = prompt.messages.map((m) => m.content as { uri?: string; resource?: { uri: string } });
    expect(first?.resource?.uri).toBe(doc);
    expect(second?.uri).toBe(`mcpgw://${name}/mem://${name}/items/7`);
    expect((await client.readResource({ uri: second?.uri as string })).contents[0]).toMatchObject({ text: "item 7" });
    const byTemplate = await client.complete({
      ref: { type: "ref/resource", uri: `mcpgw://${name}/mem://${name}/items/{id}` },
      argument: { name: "id", value: "7" },
    });
    expect(byTemplate.completion.values).toEqual(["7", "70"]);
    const byPrompt = await client.complete({
      ref: { type: "ref/prompt", name: `${name}__cite` },
      argument: { name: "id", value: "" },
    });
    expect(byPrompt.completion.values).toEqual(["7"]);
  });

  it("error data.uri: the URI the backend did not find, in public form", async () => {
    const client = await connect();
    const uri = `mcpgw://${name}/mem://${name}/gone/1`;
    const err = await client.readResource({ uri }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(McpError);
    expect((err as McpError).code).toBe(-32002);
    expect((err as McpError).data).toEqual({ uri });
  });
});

describe("server-to-client requests", () => {
  it("sampling request (SSE backend: a JSON-only backend cannot ask during a call): the resource linked in its tool result is public and readable", async () => {
    const seen: string[] = [];
    const client = await connect({ sampling: seen });
    const doc = "mcpgw://refs/mem://refs/doc";
    const result = await client.callTool({ name: `refs__sample_link`, arguments: {} });
    expect(seen).toEqual([doc]);
    expect(textOf(result)).toBe(`read ${doc}`);
    expect((await client.readResource({ uri: doc })).contents).toHaveLength(1);
  });
});

describe("MCP Apps through /mcp", () => {
  it("lists the app tool with a ui:// view the client can read, and claims the UI extension exactly when the client does", async () => {
    const before = sse.initialized.length;
    const client = await connect({ ui: true });
    const tools = (await client.listTools()).tools;
    const weather = tools.find((t) => t.name === "refs__weather");
    const view = (weather?._meta as { ui?: { resourceUri?: string } } | undefined)?.ui?.resourceUri;
    expect(view).toBe("ui://mcpgw.refs/refs/view.html");
    expect(textOf(await client.callTool({ name: "refs__weather", arguments: {} }))).toBe("weather is sunny");
    const read = await client.readResource({ uri: view as string });
    expect(read.contents[0]).toMatchObject({ uri: view, mimeType: APP_MIME });
    expect((read.contents[0] as { text: string }).text).toContain("<title>view of refs</title>");
    expect((await client.listResources()).resources.map((r) => r.uri)).toContain(view);
    expect(client.getServerCapabilities()?.extensions).toHaveProperty(UI_EXTENSION);
    // The call's upstream session was opened with the client's UI claim.
    const opened = sse.initialized.slice(before);
    expect(opened.some((c) => JSON.stringify(c).includes(UI_EXTENSION))).toBe(true);

    const without = sse.initialized.length;
    const textOnly = await connect();
    const listed = (await textOnly.listTools()).tools.find((t) => t.name === "refs__weather");
    expect(listed?._meta).toBeUndefined();
    await textOnly.callTool({ name: "refs__weather", arguments: {} });
    const openedWithout = sse.initialized.slice(without);
    expect(openedWithout.length).toBeGreaterThan(0);
    expect(openedWithout.every((c) => !JSON.stringify(c).includes(UI_EXTENSION))).toBe(true);
  });

  it("works for a 2026-07-28 client claiming the extension: view listed, readable, tool callable", async () => {
    const client = new ModernClient(
      { name: "e2e-modern-apps", version: "1" },
      {
        versionNegotiation: { mode: { pin: "2026-07-28" } },
        capabilities: { extensions: { [UI_EXTENSION]: { mimeTypes: [APP_MIME] } } },
      },
    );
    await client.connect(
      new ModernTransport(new URL(`${gateway.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    clients.push(client);
    const weather = (await client.listTools()).tools.find((t) => t.name === "jrefs__weather");
    const view = (weather?._meta as { ui?: { resourceUri?: string } } | undefined)?.ui?.resourceUri;
    expect(view).toBe("ui://mcpgw.jrefs/jrefs/view.html");
    const read = await client.readResource({ uri: view as string });
    expect(read.contents[0]).toMatchObject({ uri: view, mimeType: APP_MIME });
    const links = await client.callTool({ name: "jrefs__links", arguments: {} });
    const link = contentOf(links).find((c) => c.type === "resource_link")?.uri as string;
    expect(link).toBe("mcpgw://jrefs/mem://jrefs/doc");
    expect((await client.readResource({ uri: link })).contents[0]).toMatchObject({ text: "the doc of jrefs" });
  });
});

describe("references on an unprefixed server and from server-everything", () => {
  it("an unprefixed endpoint hands out the backend's own URIs, and they are readable there", async () => {
    const client = await connect({ path: "/servers/unprefixed/mcp" });
    const link = contentOf(await client.callTool({ name: "links", arguments: {} })).find(
      (c) => c.type === "resource_link",
    );
    expect(link?.uri).toBe("mem://plain/doc");
    expect((await client.readResource({ uri: "mem://plain/doc" })).contents[0]).toMatchObject({
      text: "the doc of plain",
    });
    expect(textOf(await client.callTool({ name: "open", arguments: { target: "mem://plain/doc" } }))).toBe(
      "mem://plain/doc|",
    );
  });

  it("server-everything's resource links, embedded reference and resource prompt all read back through /mcp", async () => {
    const client = await connect();
    const links = contentOf(await client.callTool({ name: "everything__get-resource-links", arguments: { count: 2 } }));
    const uris = links.filter((c) => c.type === "resource_link").map((c) => c.uri as string);
    expect(uris).toHaveLength(2);
    for (const uri of uris) {
      expect(uri.startsWith("mcpgw://everything/demo://")).toBe(true);
      expect((await client.readResource({ uri })).contents[0]?.uri).toBe(uri);
    }
    const reference = contentOf(
      await client.callTool({
        name: "everything__get-resource-reference",
        arguments: { resourceType: "Text", resourceId: 3 },
      }),
    ).find((c) => c.type === "resource")?.resource?.uri as string;
    expect(reference.startsWith("mcpgw://everything/demo://")).toBe(true);
    expect((await client.readResource({ uri: reference })).contents[0]?.uri).toBe(reference);
    const prompt = await client.getPrompt({
      name: "everything__resource-prompt",
      arguments: { resourceType: "Text", resourceId: "2" },
    });
    const embedded = prompt.messages
      .map((m) => m.content as { type: string; resource?: { uri: string } })
      .find((c) => c.type === "resource")?.resource?.uri as string;
    expect(embedded.startsWith("mcpgw://everything/demo://")).toBe(true);
    expect((await client.readResource({ uri: embedded })).contents[0]?.uri).toBe(embedded);
  });
});

describe("the plugin chain restricts which apps are exposed", () => {
  it("an app whose tools a tool_filter hides loses its view from resources/list and reads", async () => {
    const res = await admin("POST", "/api/plugins", {
      name: "no-secret-app",
      kind: "tool_filter",
      config: { deny: ["refs__secret_app"] },
    });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    const client = await connect({ ui: true });
    const secret = "ui://mcpgw.refs/refs/secret.html";
    const view = "ui://mcpgw.refs/refs/view.html";
    // Config reaches every isolate within 2 s (README, "Config propagation"): wait until both isolates
    // (consecutive requests alternate) hide the tool and its view.
    await eventually(
      async () => {
        const tools = [await client.listTools(), await client.listTools()].flatMap((l) => l.tools.map((t) => t.name));
        const uris = [await client.listResources(), await client.listResources()].flatMap((l) =>
          l.resources.map((r) => r.uri),
        );
        return !tools.includes("refs__secret_app") && !uris.includes(secret);
      },
      10_000,
      200,
    );
    for (let i = 0; i < 2; i++) {
      // Twice: both isolates answer in turn.
      const listed = (await client.listResources()).resources.map((r) => r.uri);
      expect(listed).toContain(view);
      expect(listed).not.toContain(secret);
      const err = await client.readResource({ uri: secret }).then(
        () => null,
        (e: unknown) => e,
      );
      expect((err as McpError).code).toBe(-32002);
      expect((await client.readResource({ uri: view })).contents).toHaveLength(1);
    }
  });
});
