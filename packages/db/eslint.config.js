import baseConfig from '@coffer/eslint-config/base';

export default [
  ...baseConfig,
  {
    // Plain-JavaScript modules (the migration tool runs on bare Node): Node's globals.
    files: ['**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly' },
    },
  },
];
