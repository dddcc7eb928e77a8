/**
 * Request bodies are bounded (COFFER_MAX_BODY_BYTES): a body is read as it streams in and
 * counted, so a larger one, declared or chunked without a length, is refused with 413 once
 * the limit is passed, never buffered whole.
 */

/** 413, as JSON, closing the connection (the rest of the upload is not read). */
function payloadTooLarge(maxBytes: number): Response {
  return Response.json(
    {
      error: {
        code: 'PAYLOAD_TOO_LARGE',
        message: `The request body is larger than ${maxBytes} bytes`,
      },
    },
    { status: 413, headers: { connection: 'close' } },
  );
}

/**
 * The request with its body read (at most `maxBytes`), or a 413 response. Reading stops at
 * the first byte past the limit: the rest is left unread and the connection closed.
 */
export async function readBodyWithin(
  request: Request,
  maxBytes: number,
): Promise<Request | Response> {
  if (!request.body) return request;
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) return payloadTooLarge(maxBytes);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      reader.releaseLock();
      return payloadTooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body,
    signal: request.signal,
  });
}

/** A route handler whose requests' bodies are bounded by `maxBytes`. */
export function withBodyLimit(
  handler: (request: Request) => Promise<Response>,
  maxBytes: number,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const bounded = await readBodyWithin(request, maxBytes);
    return bounded instanceof Response ? bounded : handler(bounded);
  };
}
