// NatterError: what every rejected promise of the client carries. Server
// refusals keep the protocol's error code (docs/protocol.md, "Errors");
// the client adds its own codes for what happens on its side.
// Not for: transport details (a close is an event, not an error, unless it
// ends pending requests).

/** Codes the client itself gives, beside the server's. */
export const ClientCodes = Object.freeze({
  /** The client was closed (close()) before an answer came; after a 4003 close the code is 'unauthorized'. */
  CLOSED: 'closed',
  /** No answer within requestTimeout. */
  TIMEOUT: 'timeout',
  /** The request was aborted through its AbortSignal. */
  ABORTED: 'aborted',
});

export class NatterError extends Error {
  /**
   * @param {string} code a protocol error code (`not_member`, ...) or a ClientCodes value
   * @param {string} message
   * @param {object} [details] the Error frame's contents ({ref, type}) when the server sent one
   */
  constructor(code, message, details = {}) {
    super(message);
    this.name = 'NatterError';
    this.code = code;
    this.type = details.type;
    this.ref = details.ref;
  }
}
