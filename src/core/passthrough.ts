/**
 * The unparsed pass-through of a backend's JSON reply (issue 15): which reply
 * texts may reach the client as the backend wrote them. Substring checks only,
 * no parse: the parse is the cost being saved.
 */
import type { JsonRpcId } from "../protocol/jsonrpc";

/**
 * Whether a backend's JSON reply text may reach the client unparsed: one
 * object, JSON-RPC 2.0, with an object result, the request's own id (as JSON.stringify writes it)
 * and no error. Anything else, including the same reply written with other
 * spacing, takes the parsed path, whose checks are complete. (An id-like
 * text inside the result can satisfy the id check; a backend decides a
 * result's content anyway, and a well-formed reply carries the id it was sent.)
 */
export function passable(text: string, id: JsonRpcId): boolean {
  return (
    text.charCodeAt(0) === 0x7b &&
    text.charCodeAt(text.length - 1) === 0x7d &&
    !text.includes('"error"') &&
    text.includes('"result":{') &&
    text.includes('"jsonrpc":"2.0"') &&
    text.includes(`"id":${JSON.stringify(id)}`)
  );
}
