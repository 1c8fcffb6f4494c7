/**
 * Path segments of admin routes, decoded without throwing: a malformed
 * percent-escape (`%E0%A4%A`) stays as it was and fails the route's own
 * validation (a 400 or 404), never a 500 (bad input never gets a 5xx).
 */

/** `decodeURIComponent`, or the raw segment when it is not valid. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
