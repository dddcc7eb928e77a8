export * from './files';
export * from './processes';
