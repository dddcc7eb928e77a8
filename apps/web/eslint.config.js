import baseConfig from '@coffer/eslint-config/base';

export default [...baseConfig, { ignores: ['next-env.d.ts', '.next/**', '.next-*/**'] }];
