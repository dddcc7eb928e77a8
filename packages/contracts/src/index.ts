// Browser-safe contracts. Node-only helpers (HMAC, sealing) are in `@coffer/contracts/crypto`.
export * from './status';
export * from './datastore';
export * from './datastore-definitions';
export * from './validation';
export * from './character-sets';
export * from './sealed';
export * from './jobs';
export * from './guest-rpc';
export * from './conductor';
export * from './guest-config';
export * from './events';
export * from './backup';
export * from './replication';
export * from './resize';
export * from './errors';
export * from './worker-roles';
export * from './allowed-sources';
