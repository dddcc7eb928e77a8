import { z } from 'zod';

/**
 * A secret sealed with AES-256-GCM: `v1.<iv>.<tag>.<ciphertext>`, each part base64url. The
 * schema is browser-safe; sealing and opening live in `@coffer/contracts/crypto`.
 */
export const sealedSecretSchema = z
  .string()
  .regex(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/, 'not a sealed secret');
export type SealedSecret = z.infer<typeof sealedSecretSchema>;
