import type { NextConfig } from 'next';

// Coffer is self-hosted: never phone home from builds or servers.
process.env.NEXT_TELEMETRY_DISABLED ??= '1';

/**
 * The console and API server. Internal packages are TypeScript source, so Next compiles
 * them; the database driver stays a Node external. No build step downloads anything
 * (system font stack, no remote images).
 */
const nextConfig: NextConfig = {
  // Separate build dirs let several builds (e.g. parallel e2e runs) live side by side.
  distDir: process.env.COFFER_NEXT_DIST_DIR ?? '.next',
  reactStrictMode: true,
  poweredByHeader: false,
  transpilePackages: ['@coffer/db', '@coffer/contracts', '@coffer/runtime', '@coffer/testing'],
  serverExternalPackages: [
    'pg',
    '@prisma/client',
    '@prisma/adapter-pg',
    'pino',
    'bullmq',
    'ioredis',
  ],
  typescript: {
    tsconfigPath: './tsconfig.json',
    // `npm test` checks the console's types itself (tests included, which Next's check leaves
    // out), so its build need not check them twice.
    ignoreBuildErrors: process.env.COFFER_BUILD_TYPES_CHECKED_APART === '1',
  },
};

export default nextConfig;
