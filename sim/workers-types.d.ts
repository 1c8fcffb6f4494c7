// The one Workers type the simulated modules mention (in `SpanSink`, src/observability/span.ts):
// the sim runs in Node, where @cloudflare/workers-types is not loaded.
interface MessageSendRequest<Body = unknown> {
  body: Body;
  contentType?: string;
  delaySeconds?: number;
}
