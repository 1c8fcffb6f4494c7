// A backend's JSON result reply passed through unparsed (issue 15): exactly as sent when it is a result for the request, the malformed-reply error otherwise.
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN, api, uniqueName } from "./helpers";
import { type FakeBackend, fakeBackend } from "./outbound";

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

/** A backend whose tools/call answers with `callText`, and a 2025 session in front of it. */
async function setup(): Promise<{ fake: FakeBackend; name: string; session: string }> {
  const name = uniqueName("pt");
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

const call = (name: string, id: number | string) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: `${name}__echo`, arguments: {} },
});

describe("pass-through of a backend's JSON result reply", () => {
  it("reaches the client byte for byte, fields and order as the backend wrote them", async () => {
    const { fake, name, session } = await setup();
    // Key order and an extra field that parsing and re-serialising would not keep as they are.
    fake.callText = (id) =>
      `{"result":{"content":[{"type":"text","text":"ünïcode ✓"}],"_extra":[1,2.50]},"jsonrpc":"2.0","id":${JSON.stringify(id)}}`;
    for (const id of [7, "seven"]) {
      const res = await post(call(name, id), session);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(await res.text()).toBe(fake.callText(id));
    }
  });

  it("still parses a reply that is not a result for this request: malformed replies get the backend error", async () => {
    const { fake, name, session } = await setup();
    for (const text of [
      "<html>{{{",
      // Another request's id.
      '{"result":{"content":[]},"jsonrpc":"2.0","id":999}',
      // Cut short.
      '{"result":{"content":[]},"jsonrpc":"2.0","id":3',
      // Not a JSON-RPC response at all, though it mentions a result.
      '{"result":{},"id":3}',
      // A result that is not an object.
      '{"jsonrpc":"2.0","result":1,"id":3}',
    ]) {
      fake.callText = () => text;
      const res = await post(call(name, 3), session);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { id: unknown; error?: { code: number; data?: { reason?: string } } };
      expect(body.id).toBe(3);
      expect(body.error?.code).toBe(-32010);
      expect(body.error?.data?.reason).toBe("malformed");
    }
  });

  it("answers the same reply written with other spacing through the parsed path, with the same content", async () => {
    const { fake, name, session } = await setup();
    fake.callText = (id) => `{ "jsonrpc": "2.0", "id": ${JSON.stringify(id)}, "result": { "content": [] } }`;
    const res = await post(call(name, 4), session);
    expect(await res.json()).toEqual({ jsonrpc: "2.0", id: 4, result: { content: [] } });
  });

  it("keeps a backend's JSON-RPC error an error", async () => {
    const { fake, name, session } = await setup();
    fake.rpcErrors = true;
    const res = await post(call(name, 5), session);
    expect(await res.json()).toMatchObject({ id: 5, error: { code: -32602, message: "bad arguments" } });
  });
});
