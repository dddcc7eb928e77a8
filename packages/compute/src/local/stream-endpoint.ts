import { type GuestStreamEndpoint, type ServerInfo } from '../provider';

/**
 * The local provider's direct-stream endpoint (issue 18): every guest runs on this machine,
 * so a server's guest listens on its database address, at its database port plus this
 * offset (no claim needed: a port found taken makes the source fall back to the object
 * store). Beyond the last port there is none.
 */
export const STREAM_PORT_OFFSET = 10_000;

export function localStreamEndpoint(server: ServerInfo | null): GuestStreamEndpoint | null {
  if (!server) return null;
  const port = server.port + STREAM_PORT_OFFSET;
  return port <= 65_535 ? { host: server.host, port } : null;
}
