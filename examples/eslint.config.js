import baseConfig from '@coffer/eslint-config/base';

// A script reads its settings from the environment like any other script would.
export default [...baseConfig, { files: ['**/*.ts'], rules: { 'no-restricted-properties': 'off' } }];
