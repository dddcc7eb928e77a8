// Prisma CLI configuration, used by scripts/prisma.mjs (generate, validate, format).
// There is no datasource here on purpose: the CLI's own migrate/db commands are replaced
// by scripts/migrate.mjs, which reads DATABASE_URL itself, so generating the client never
// needs a database URL.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
