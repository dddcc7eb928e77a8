import { open } from 'node:fs/promises';

import { type ChunkFeed } from './strategy';

/** A backup's verified stream, kept (still compressed) in a staging file until the server can take it. */
export async function stageToFile(feed: ChunkFeed, staging: string): Promise<string> {
  const file = await open(staging, 'w', 0o600);
  try {
    await feed(async (plaintext, release) => {
      for (let offset = 0; offset < plaintext.length;) {
        offset += (await file.write(plaintext, offset, plaintext.length - offset)).bytesWritten;
      }
      release?.();
    });
  } finally {
    await file.close();
  }
  return staging;
}
