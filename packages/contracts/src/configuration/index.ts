export * from './catalog';
export * from './validate';
export * from './apply';
