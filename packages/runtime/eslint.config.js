import baseConfig from '@coffer/eslint-config/base';

export default baseConfig;
