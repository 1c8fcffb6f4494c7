/**
 * The platform limits the simulation compares against (with the pages they
 * come from), the targets, and the workload. Everything a reader needs
 * to judge the table is here.
 */

/** Cloudflare's documented limits (read 2026-11 from developers.cloudflare.com). */
export const LIMITS = {
  /** "An individual Object has a soft limit of 1,000 requests per second"; beyond it, `overloaded` errors. */
  durableObjectRps: 1_000,
  /** D1 is single-threaded per database: "If your average query takes 1 ms, you can run approximately 1,000 queries per second". */
  d1Qps: 1_000,
  /** "Per-queue message throughput: 5,000 messages per second"; beyond it `send()`/`sendBatch()` throw. */
  queueMessagesPerSecond: 5_000,
} as const;

export const SOURCES = {
  durableObjects: "https://developers.cloudflare.com/durable-objects/platform/limits/",
  d1: "https://developers.cloudflare.com/d1/platform/limits/",
  d1Replication: "https://developers.cloudflare.com/d1/best-practices/read-replication/",
  queues: "https://developers.cloudflare.com/queues/platform/limits/",
  cacheApi: "https://developers.cloudflare.com/workers/runtime-apis/cache/",
} as const;

/** The targets at 10,000 isolates and 1,000,000 calls a second. */
export const TARGETS = {
  busiestObjectRps: 500,
  d1ConfigQps: 100,
  /** "Within the platform limit with headroom": at most half of it. */
  queueMessagesPerSecond: LIMITS.queueMessagesPerSecond / 2,
  outageStopMs: 5_000,
  /** Recovery within the cooldown plus this. */
  recoveryAfterCooldownMs: 5_000,
  deadCallFraction: 0.01,
  revocationMs: 5_000,
  editMs: 10_000,
} as const;

/** The workload and the timeline of one run. Times are simulated milliseconds. */
export const WORKLOAD = {
  /** Calls a second per isolate: 10,000 isolates make 1,000,000. */
  callsPerIsolate: 100,
  /** The hot backend's share: 50,000 calls a second at 10,000 isolates. */
  hotShare: 0.05,
  /** A backend each isolate calls rarely (once per 20 s; 500 calls a second at 10,000 isolates). */
  sparseShare: 0.000_5,
  /** 95 ordinary backends share the rest (1 call a second each per isolate); one is simulated, the others load their own objects alike. */
  ordinaryBackends: 95,
  locations: 200,
  /** Isolates start spread over this window. */
  startWindowMs: 10_000,
  /** Mean isolate lifetime (exponential); an evicted isolate is replaced by a cold one in the same location. */
  meanLifetimeMs: 600_000,
  durationMs: 160_000,
  /** Loads are reported from here on (after every isolate started once). */
  measureFromMs: 12_000,
  configEditAt: 20_000,
  revocationAt: 30_000,
  /**
   * The hot and the sparse backend fail together at `outageAt` and come back at `recoveryAt`, just
   * after the first trial (at the end of the first cooldown) failed: the slowest recovery a breaker
   * allows, a whole second cooldown.
   */
  outageAt: 45_000,
  recoveryAt: 77_000,
  /** A dead backend refuses connections: each call fails this long after it was sent. */
  failureLatencyMs: 20,
  failureThreshold: 5,
  cooldownMs: 30_000,
  healthIntervalMs: 30_000,
  /** A busy MCP client session: every one of its requests asks its SessionDO whether it ended. */
  busiestSessionRps: 50,
  /** Spans per call: the request's and the backend call's. */
  spansPerCall: 2,
  /** How long `sendBatch` takes to answer. */
  queueSendMs: 20,
} as const;

/** Round-trip times (ms): within a location, and the extra for the farthest pair of locations. */
export const RTT = { local: 2, base: 20, spread: 130 } as const;
