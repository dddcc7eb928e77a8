import baseConfig from '@coffer/eslint-config/base';

export default [
  ...baseConfig,
  {
    // the build's plain-Node scripts
    files: ['scripts/**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', URL: 'readonly', setTimeout: 'readonly' },
    },
  },
];
