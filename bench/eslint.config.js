import baseConfig from '@coffer/eslint-config/base';

export default [
  ...baseConfig,
  { files: ['**/*.ts'], rules: { 'no-restricted-properties': 'off' } },
];
