// Malformed and private backend/webhook URLs through the admin API: always a 400 naming the field, never a 500.
import { afterEach, describe, expect, it } from "vitest";
import { api, createBackend, errorOf, uniqueName } from "./helpers";
import { route } from "./outbound";

/** Strings the WHATWG URL parser refuses (each used to be a 500: `new URL` threw inside a zod refine). */
const MALFORMED = [
  "not a url",
  "http://",
  "",
  " ",
  "//example.com",
  "http://:80/",
  "http://exa mple.com/",
  "http://[::1",
  "https://example.com:99999/",
  "https://[fe80::1%25eth0]/",
  "http://\u0000/",
];

/** IPv6 transition forms whose embedded IPv4 address is loopback or private. */
const TRANSITION = [
  "http://[::ffff:0:127.0.0.1]/",
  "http://[2002:7f00:1::]/",
  "http://[2002:a00:1::]/mcp",
  "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
  "http://[2001:0:a00:1::f7f7:f7f7]/",
  "http://[64:ff9b:1::a00:1]/",
];

/** The 400 every bad URL must produce: validation_failed, and only `field` named. */
function expectUrl400(res: { status: number; body: unknown; text: string }, field: string) {
  expect(res.status, res.text).toBe(400);
  const error = errorOf(res.body);
  expect(error.code).toBe("validation_failed");
  expect(error.details?.length).toBeGreaterThan(0);
  for (const d of error.details ?? []) expect(d).toEqual({ path: field, message: expect.any(String) });
}

const webhook = (url: string) => ({ name: uniqueName("wh"), kind: "webhook", config: { url } });

describe("malformed URLs are a 400 naming url", () => {
  it.each(MALFORMED)("POST /api/backends with %j", async (url) => {
    expectUrl400(await api("POST", "/api/backends", { body: { name: uniqueName("u"), url } }), "url");
  });

  it.each(MALFORMED)("PATCH /api/backends/:name with %j", async (url) => {
    const name = await createBackend();
    expectUrl400(await api("PATCH", `/api/backends/${name}`, { body: { url } }), "url");
    expect((await api("GET", `/api/backends/${name}`)).body).toMatchObject({ url: "https://93.184.215.14/mcp" });
  });

  it.each(MALFORMED)("PATCH of a backend that does not exist with %j", async (url) => {
    const res = await api("PATCH", `/api/backends/${uniqueName("nx")}`, { body: { url } });
    expect([400, 404]).toContain(res.status);
    expect(errorOf(res.body).code).toMatch(/^(validation_failed|not_found)$/);
  });

  it.each(MALFORMED)("a webhook plugin's url %j", async (url) => {
    expectUrl400(await api("POST", "/api/plugins", { body: webhook(url) }), "config.url");
  });

  it("a webhook plugin's url on PATCH", async () => {
    const created = await api("POST", "/api/plugins", { body: webhook("https://93.184.215.14/check") });
    expect(created.status, created.text).toBe(201);
    const name = (created.body as { name: string }).name;
    for (const url of ["http://[::1", "https://example.com:99999/"]) {
      const res = await api("PATCH", `/api/plugins/${name}`, { body: { config: { url } } });
      expectUrl400(res, "config.url");
    }
  });
});

describe("IPv6 transition forms of private addresses are refused", () => {
  it.each(TRANSITION)("POST /api/backends %s", async (url) => {
    expectUrl400(await api("POST", "/api/backends", { body: { name: uniqueName("t"), url } }), "url");
  });

  it.each(TRANSITION)("PATCH /api/backends/:name %s", async (url) => {
    const name = await createBackend();
    expectUrl400(await api("PATCH", `/api/backends/${name}`, { body: { url } }), "url");
  });

  it.each(TRANSITION)("webhook url %s", async (url) => {
    expectUrl400(await api("POST", "/api/plugins", { body: webhook(url) }), "config.url");
  });

  it("accepts the public forms", async () => {
    for (const url of ["http://[2002:808:808::1]/mcp", "http://[::ffff:0:8.8.8.8]/mcp"]) {
      const res = await api("POST", "/api/backends", { body: { name: uniqueName("p"), url } });
      expect(res.status, `${url}: ${res.text}`).toBe(201);
    }
  });
});

describe("DNS names resolving to transition forms are refused", () => {
  let unroute: (() => void) | undefined;
  afterEach(() => unroute?.());

  /** Answers the gateway's DoH queries (Cloudflare JSON API, its default resolver) from `zone`. */
  function dns(zone: Record<string, { A?: string[]; AAAA?: string[] }>) {
    unroute = route("https://cloudflare-dns.com/dns-query", (request) => {
      const q = new URL(request.url).searchParams;
      const type = q.get("type") === "AAAA" ? "AAAA" : "A";
      const data = zone[q.get("name") ?? ""]?.[type] ?? [];
      const Answer = data.map((d) => ({ type: type === "A" ? 1 : 28, data: d }));
      return Response.json({ Status: 0, Answer });
    });
  }

  it("refuses names whose AAAA records embed a private IPv4 address, on POST, PATCH and webhooks", async () => {
    dns({
      "public.test.example": { A: ["93.184.215.14"] },
      "siit.test.example": { A: ["93.184.215.14"], AAAA: ["::ffff:0:7f00:1"] },
      "sixtofour.test.example": { AAAA: ["2002:a9fe:a9fe::1"] },
      "teredo.test.example": { AAAA: ["2001:0:4136:e378:8000:63bf:80ff:fffe"] },
      "nat64.test.example": { AAAA: ["64:ff9b:1::c0a8:1"] },
    });
    const ok = await api("POST", "/api/backends", {
      body: { name: uniqueName("d"), url: "https://public.test.example/mcp" },
    });
    expect(ok.status, ok.text).toBe(201);
    const name = (ok.body as { name: string }).name;
    for (const host of ["siit", "sixtofour", "teredo", "nat64"]) {
      const url = `https://${host}.test.example/mcp`;
      expectUrl400(await api("POST", "/api/backends", { body: { name: uniqueName("d"), url } }), "url");
      expectUrl400(await api("PATCH", `/api/backends/${name}`, { body: { url } }), "url");
      expectUrl400(await api("POST", "/api/plugins", { body: webhook(url) }), "config.url");
    }
  });
});

describe("the DNS-over-HTTPS resolver a backend name is checked with", () => {
  let unroute: (() => void) | undefined;
  afterEach(() => unroute?.());

  /**
   * A DoH JSON endpoint as Cloudflare's behaves: it answers only requests that
   * accept `application/dns-json` (400 otherwise), lists the CNAME it followed
   * before the addresses, and leaves `Answer` out for a name that does not exist.
   */
  function doh(answer: (name: string, type: string) => Response | Promise<Response>) {
    const queries: string[] = [];
    unroute = route("https://cloudflare-dns.com/dns-query", (request) => {
      if (request.headers.get("accept") !== "application/dns-json") return new Response("bad accept", { status: 400 });
      const q = new URL(request.url).searchParams;
      queries.push(`${q.get("name")} ${q.get("type")}`);
      return answer(q.get("name") ?? "", q.get("type") ?? "");
    });
    return queries;
  }
  const create = (host: string) =>
    api("POST", "/api/backends", { body: { name: uniqueName("r"), url: `https://${host}/mcp` } });

  it("asks for A and AAAA records of the name, and follows a CNAME to the addresses", async () => {
    const queries = doh((name, type) =>
      Response.json({
        Status: 0,
        Answer:
          type === "A"
            ? [
                { name, type: 5, data: "edge.internal." },
                { name: "edge.internal.", type: 1, data: "93.184.215.14" },
              ]
            : [],
      }),
    );
    const res = await create("alias.test.example");
    expect(res.status, res.text).toBe(201);
    expect(queries.sort()).toEqual(["alias.test.example A", "alias.test.example AAAA"]);
  });

  it("refuses a name that does not exist (no Answer), whose resolver fails, or that is answered only by a CNAME", async () => {
    doh((name) => {
      if (name.startsWith("broken.")) return new Response("unavailable", { status: 503 });
      if (name.startsWith("cname."))
        return Response.json({ Status: 0, Answer: [{ name, type: 5, data: "x.example." }] });
      return Response.json({ Status: 3 });
    });
    for (const host of ["nx.test.example", "broken.test.example", "cname.test.example"]) {
      const res = await create(host);
      expectUrl400(res, "url");
      expect(errorOf(res.body).details?.[0]?.message, host).toMatch(/could not be resolved/);
    }
  });

  it("sends the whole name as one query parameter (a host may hold `&` and `=`)", async () => {
    const queries = doh(() => Response.json({ Status: 0, Answer: [{ type: 1, data: "93.184.215.14" }] }));
    const res = await create("x.example&name=y.example");
    expect(res.status, res.text).toBe(201);
    expect(queries.sort()).toEqual(["x.example&name=y.example A", "x.example&name=y.example AAAA"]);
  });

  it("treats an error status as a failed lookup, whatever its body says", async () => {
    doh(() => Response.json({ Status: 0, Answer: [{ type: 1, data: "93.184.215.14" }] }, { status: 502 }));
    const res = await create("gateway-error.test.example");
    expectUrl400(res, "url");
    expect(errorOf(res.body).details?.[0]?.message).toMatch(/could not be resolved/);
  });

  it("gives up on a resolver that does not answer (fails closed after its timeout)", { timeout: 30_000 }, async () => {
    doh(() => new Promise<Response>(() => undefined));
    const res = await create("slow.test.example");
    expectUrl400(res, "url");
    expect(errorOf(res.body).details?.[0]?.message).toMatch(/could not be resolved/);
  });
});
