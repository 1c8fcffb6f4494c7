/**
 * This isolate's identity for coordination: a random id (drawn on first use:
 * Workers refuse random values in global scope) that picks its shard bucket,
 * and the deployment's size as its config shard last estimated it (used to
 * size span batching and sampling; 1 until a shard answered).
 */

let id: string | undefined;
let deploymentSize = 1;

/** This isolate's random id. */
export function isolateId(): string {
  id ??= crypto.randomUUID();
  return id;
}

/** The deployment's isolate count as last estimated (at least 1). */
export function estimatedIsolates(): number {
  return deploymentSize;
}

/** Records a shard's estimate (non-finite or smaller than 1 counts as 1). */
export function setEstimatedIsolates(n: number): void {
  deploymentSize = Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1;
}
