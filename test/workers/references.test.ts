// References a backend hands out (references.ts, names.ts): the pure mappings out and in, malformed and forged references, and the pass-through on /mcp.
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { publicUri, splitPublicUri } from "../../src/core/names";
import {
  blocks,
  bySchema,
  inbound,
  mapErrorData,
  mapInputRequests,
  mapMessage,
  mapResult,
  mentionsReference,
  meta,
  outbound,
  publicTool,
  schemaHasUri,
} from "../../src/core/references";
import { toClient } from "../../src/core/to-client";
import { ADMIN, api, uniqueName } from "./helpers";
import { type FakeBackend, fakeBackend } from "./outbound";

const out = outbound("files");
const back = inbound("files");

describe("public URIs of App views", () => {
  it("keep the ui:// scheme and route back to the backend's own URI", () => {
    expect(publicUri("apps", "ui://weather/view.html", true)).toBe("ui://mcpgw.apps/weather/view.html");
    expect(splitPublicUri("ui://mcpgw.apps/weather/view.html")).toEqual({
      backend: "apps",
      uri: "ui://weather/view.html",
    });
    expect(publicUri("apps", "ui://weather/view.html", false)).toBe("ui://weather/view.html");
    // A bare `ui://` has nothing after the scheme to carry: it takes the general form.
    expect(publicUri("apps", "ui://", true)).toBe("mcpgw://apps/ui://");
    expect(splitPublicUri("mcpgw://apps/ui://")).toEqual({ backend: "apps", uri: "ui://" });
  });

  it("refuses malformed ui:// public URIs instead of guessing", () => {
    for (const uri of [
      "ui://mcpgw./x",
      "ui://mcpgw.apps",
      "ui://mcpgw.apps/",
      "ui://weather/view.html",
      "ui:/mcpgw.a/x",
    ]) {
      expect(splitPublicUri(uri)).toBeNull();
    }
  });
});

describe("outbound: a backend's references in public form", () => {
  it("maps resource links, embedded resources and blocks nested in tool results", () => {
    const result = mapResult(
      "tools/call",
      {
        content: [
          { type: "text", text: "mem://a is mentioned in text, which is never rewritten" },
          { type: "resource_link", uri: "mem://a", name: "a" },
          { type: "resource", resource: { uri: "mem://b", text: "b" } },
          { type: "tool_result", toolUseId: "t", content: [{ type: "resource_link", uri: "mem://c", name: "c" }] },
        ],
        _meta: { ui: { resourceUri: "ui://v/app.html" }, "openai/outputTemplate": "ui://v/app.html", other: "mem://x" },
      },
      out,
    );
    expect(result.content).toEqual([
      { type: "text", text: "mem://a is mentioned in text, which is never rewritten" },
      { type: "resource_link", uri: "mcpgw://files/mem://a", name: "a" },
      { type: "resource", resource: { uri: "mcpgw://files/mem://b", text: "b" } },
      {
        type: "tool_result",
        toolUseId: "t",
        content: [{ type: "resource_link", uri: "mcpgw://files/mem://c", name: "c" }],
      },
    ]);
    expect(result._meta).toEqual({
      ui: { resourceUri: "ui://mcpgw.files/v/app.html" },
      "openai/outputTemplate": "ui://mcpgw.files/v/app.html",
      other: "mem://x",
    });
  });

  it("maps structuredContent only where the output schema says format uri", () => {
    const schema = {
      type: "object",
      properties: {
        doc: { type: "string", format: "uri" },
        label: { type: "string" },
        list: { type: "array", items: { type: "string", format: "uri" } },
        nested: { type: "object", properties: { link: { type: "string", format: "uri" } } },
      },
    };
    const structured = {
      doc: "mem://d",
      label: "mem://not-a-uri-field",
      list: ["mem://1", 2],
      nested: { link: "mem://n" },
    };
    expect(
      mapResult("tools/call", { content: [], structuredContent: structured }, out, schema).structuredContent,
    ).toEqual({
      doc: "mcpgw://files/mem://d",
      label: "mem://not-a-uri-field",
      list: ["mcpgw://files/mem://1", 2],
      nested: { link: "mcpgw://files/mem://n" },
    });
    // Without a schema nothing in structuredContent is touched.
    expect(mapResult("tools/call", { structuredContent: structured }, out).structuredContent).toBe(structured);
    expect(schemaHasUri(schema)).toBe(true);
    expect(schemaHasUri({ type: "object", properties: { a: { type: "string" } } })).toBe(false);
  });

  it("maps prompt messages (one block or many) and read contents; completion results are left alone", () => {
    const prompt = mapResult(
      "prompts/get",
      {
        messages: [
          { role: "user", content: { type: "resource", resource: { uri: "mem://p", text: "p" } } },
          { role: "user", content: [{ type: "resource_link", uri: "mem://q", name: "q" }] },
          "not a message",
        ],
      },
      out,
    );
    expect(prompt.messages).toEqual([
      { role: "user", content: { type: "resource", resource: { uri: "mcpgw://files/mem://p", text: "p" } } },
      { role: "user", content: [{ type: "resource_link", uri: "mcpgw://files/mem://q", name: "q" }] },
      "not a message",
    ]);
    const read = mapResult("resources/read", { contents: [{ uri: "mem://r", text: "r" }, null] }, out);
    expect(read.contents).toEqual([{ uri: "mcpgw://files/mem://r", text: "r" }, null]);
    const completion = { completion: { values: ["mem://v"] } };
    expect(mapResult("completion/complete", completion, out)).toEqual(completion);
  });

  it("maps notifications, sampling requests and error data; listed tools' App views", () => {
    expect(mapMessage({ method: "notifications/resources/updated", params: { uri: "mem://u" } }, out)).toEqual({
      method: "notifications/resources/updated",
      params: { uri: "mcpgw://files/mem://u" },
    });
    const sampling = mapMessage(
      {
        id: 1,
        method: "sampling/createMessage",
        params: { messages: [{ role: "user", content: { type: "resource_link", uri: "mem://s", name: "s" } }] },
      },
      out,
    );
    expect(sampling.params).toMatchObject({ messages: [{ content: { uri: "mcpgw://files/mem://s" } }] });
    expect(mapErrorData({ uri: "mem://gone" }, out)).toEqual({ uri: "mcpgw://files/mem://gone" });
    expect(mapErrorData("text", out)).toBe("text");
    const tool = { name: "t", _meta: { ui: { resourceUri: "ui://w/app", visibility: ["model"] } } };
    expect(publicTool(tool, "files", true)._meta).toEqual({
      ui: { resourceUri: "ui://mcpgw.files/w/app", visibility: ["model"] },
    });
    expect(publicTool(tool, "files", false)).toBe(tool);
    const plain = { name: "t" };
    expect(publicTool(plain, "files", true)).toBe(plain);
    // A server-to-client request keeps its routable id and gets public references.
    const relayed = toClient("files", true, {
      jsonrpc: "2.0",
      id: 7,
      method: "sampling/createMessage",
      params: { messages: [{ role: "user", content: { type: "resource_link", uri: "mem://s", name: "s" } }] },
    });
    expect(relayed.id).toBe("mcpgw:files:7");
    expect(JSON.stringify(relayed.params)).toContain("mcpgw://files/mem://s");
  });

  it("maps the sampling questions of a 2026 InputRequiredResult and leaves its requestState alone", () => {
    const result = {
      resultType: "input_required",
      requestState: "opaque mem://x",
      inputRequests: {
        ask: {
          method: "sampling/createMessage",
          params: {
            messages: [
              {
                role: "user",
                content: [
                  {
                    type: "tool_result",
                    toolUseId: "t",
                    content: [{ type: "resource_link", uri: "mem://i", name: "i" }],
                  },
                ],
              },
            ],
          },
        },
        odd: "not a request",
      },
    };
    const mapped = mapInputRequests(result, out);
    expect(mapped.requestState).toBe("opaque mem://x");
    expect(JSON.stringify(mapped.inputRequests)).toContain('"uri":"mcpgw://files/mem://i"');
    expect((mapped.inputRequests as Record<string, unknown>).odd).toBe("not a request");
    expect(mapInputRequests({ resultType: "input_required", inputRequests: [1] }, out)).toEqual({
      resultType: "input_required",
      inputRequests: [1],
    });
  });

  it("survives malformed shapes without throwing and leaves them as they are", () => {
    const odd: unknown[] = [null, 1, "x", [], { type: "resource_link", uri: 5 }, { type: "resource", resource: null }];
    for (const value of odd) {
      expect(() => blocks(value, out)).not.toThrow();
      expect(() => meta(value, out)).not.toThrow();
      expect(() => bySchema(value, { type: "string", format: "uri" }, out)).not.toThrow();
      expect(() => mapMessage({ method: "sampling/createMessage", params: { messages: value } }, out)).not.toThrow();
      expect(() =>
        mapResult("tools/call", { content: value, _meta: value, structuredContent: value }, out, value),
      ).not.toThrow();
    }
    expect(blocks({ type: "resource_link", uri: 5 }, out)).toEqual({ type: "resource_link", uri: 5 });
    // A schema nested deeper than the walk's bound is not followed (and a cyclic-looking schema cannot loop).
    let deep: Record<string, unknown> = { type: "string", format: "uri" };
    let value: unknown = "mem://deep";
    for (let i = 0; i < 20; i++) {
      deep = { type: "object", properties: { x: deep } };
      value = { x: value };
    }
    expect(bySchema(value, deep, out)).toBe(value);
  });
});

describe("inbound: public references back to the backend's form", () => {
  it("maps only the same backend's public URIs; forged and foreign ones pass unchanged", () => {
    expect(back("mcpgw://files/mem://a")).toBe("mem://a");
    expect(back("ui://mcpgw.files/v/app")).toBe("ui://v/app");
    // Another backend's URI must never turn into one of this backend's.
    expect(back("mcpgw://other/mem://a")).toBe("mcpgw://other/mem://a");
    for (const forged of ["mcpgw://", "mcpgw://files", "mcpgw:///x", "ui://mcpgw.", "", "mem://a"]) {
      expect(back(forged)).toBe(forged);
    }
    const args = bySchema(
      { target: "mcpgw://files/mem://t", note: "mcpgw://files/mem://t" },
      { type: "object", properties: { target: { type: "string", format: "uri" }, note: { type: "string" } } },
      back,
    );
    expect(args).toEqual({ target: "mem://t", note: "mcpgw://files/mem://t" });
  });

  it("the byte check finds every key a mapped reference sits under", () => {
    expect(mentionsReference('{"content":[{"type":"text","text":"hi"}]}')).toBe(false);
    for (const text of [
      '{"uri":"x"}',
      '{"_meta":{"ui":{"resourceUri":"ui://a"}}}',
      '{"ui/resourceUri":"x"}',
      '{"openai/outputTemplate":"x"}',
    ]) {
      expect(mentionsReference(text)).toBe(true);
    }
  });
});

const fakes: FakeBackend[] = [];
afterEach(() => {
  for (const fake of fakes.splice(0)) fake.close();
});

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

describe("on /mcp (workerd)", () => {
  async function setup(): Promise<{ fake: FakeBackend; name: string; session: string }> {
    const name = uniqueName("rf");
    const fake = fakeBackend(`https://93.184.215.14/${name}/mcp`, ["echo"]);
    fakes.push(fake);
    expect((await api("POST", "/api/backends", { body: { name, url: fake.url } })).status).toBe(201);
    const init = await post({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
    });
    const session = init.headers.get("mcp-session-id") as string;
    await init.body?.cancel();
    return { fake, name, session };
  }
  const call = (name: string, id: number) => ({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: `${name}__echo`, arguments: {} },
  });

  it("passes a reply without references through byte for byte, and maps one with a resource link", async () => {
    const { fake, name, session } = await setup();
    fake.callText = (id) =>
      `{"result":{"content":[{"type":"text","text":"plain"}]},"jsonrpc":"2.0","id":${JSON.stringify(id)}}`;
    const plain = await post(call(name, 1), session);
    expect(await plain.text()).toBe(fake.callText(1));
    fake.callText = (id) =>
      `{"result":{"content":[{"type":"resource_link","uri":"mem://doc","name":"doc"}]},"jsonrpc":"2.0","id":${JSON.stringify(id)}}`;
    const linked = (await (await post(call(name, 2), session)).json()) as {
      result: { content: Array<{ uri: string }> };
    };
    expect(linked.result.content[0]?.uri).toBe(`mcpgw://${name}/mem://doc`);
  });

  it("answers forged and malformed references with JSON-RPC errors, never a 5xx", async () => {
    const { session } = await setup();
    const forged = [
      "ui://mcpgw.nosuchbackend/x",
      "ui://mcpgw./x",
      "mcpgw://",
      "ui://",
      `ui://mcpgw.${"a".repeat(5000)}/x`,
      "mcpgw://nosuch/mem://x",
    ];
    let id = 10;
    for (const uri of forged) {
      for (const method of ["resources/read", "resources/subscribe"]) {
        const res = await post({ jsonrpc: "2.0", id: ++id, method, params: { uri } }, session);
        expect(res.status).toBeLessThan(500);
        const body = (await res.json()) as { id: unknown; error?: { code: number } };
        expect(body.id).toBe(id);
        expect(body.error?.code).toBe(-32002);
      }
    }
  });
});
