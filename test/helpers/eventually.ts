/**
 * Polling for end-to-end tests: waits for a condition with a deadline, so a
 * test never sleeps a fixed time and never asserts how long something took.
 */

/** Polls `check` until it returns true (resolves with the elapsed ms) or throws after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000, intervalMs = 50): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
