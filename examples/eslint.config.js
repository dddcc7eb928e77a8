import baseConfig from '@coffer/eslint-config/base';
import { mustNotImport } from '@coffer/eslint-config/boundaries';

// A script reads its settings from the environment like any other script would.
export default [
  ...baseConfig,
  { files: ['**/*.ts'], rules: { 'no-restricted-properties': 'off' } },
  ...mustNotImport('examples/api-client.ts', [
    {
      imports: ['@coffer/*'],
      allowTypeImports: true,
      reason:
        "An example takes only the API's types from Coffer (`import type`): its calls go over HTTP",
    },
  ]),
];
