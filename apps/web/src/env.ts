import { z } from 'zod';

/**
 * The web app's configuration, parsed once at boot (instrumentation.ts imports this file), so
 * a bad or missing setting stops the server with a clear message instead of failing later.
 * Nothing else in apps/web reads process.env.
 */
const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  DATABASE_URL: z.url({ error: 'DATABASE_URL must be a postgresql:// URL' }),
  REDIS_URL: z.url({ error: 'REDIS_URL must be a redis:// URL' }),
  BETTER_AUTH_SECRET: z.string().min(32, 'BETTER_AUTH_SECRET must be at least 32 characters'),
  BETTER_AUTH_URL: z.url({ error: 'BETTER_AUTH_URL must be the public URL of the console' }),
  /** Seals secrets that travel in job payloads; base64 of 32 bytes. */
  COFFER_MASTER_KEY: z
    .string()
    .refine((value) => Buffer.from(value, 'base64').length === 32, 'COFFER_MASTER_KEY must be 32 bytes in base64'),
  COFFER_HEARTBEAT_EXPIRY_SECONDS: z.coerce.number().int().min(3).max(3600).default(15),
  COFFER_MAX_VOLUME_GB: z.coerce.number().int().min(1).max(16_384).default(100),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof schema>;

function parseEnv(): Env {
  const result = schema.safeParse(process.env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new Error(`Coffer web: invalid configuration\n${problems}`);
  }
  return result.data;
}

export const env: Env = parseEnv();
