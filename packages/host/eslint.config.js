import baseConfig from '@coffer/eslint-config/base';
import { mustNotImport } from '@coffer/eslint-config/boundaries';

export default [
  ...baseConfig,
  ...mustNotImport('packages/host/README.md', [
    { imports: ['@coffer/*'], reason: 'The host helpers import nothing of the project' },
  ]),
];
