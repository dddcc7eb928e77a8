export * from './catalog';
export * from './validate';
