import { type ObjectStoreConfig } from '@coffer/contracts';

import { LocalDirectoryStore } from './local-store';
import { type ObjectStore } from './object-store';
import { SwiftObjectStore, type SwiftStoreOptions } from './swift-store';

export * from './object-store';
export { allocateBlockAligned } from './block-aligned';
export { LocalDirectoryStore } from './local-store';
export {
  SwiftObjectStore,
  type KeystoneSwiftObjectStoreConfig,
  type SwiftObjectStoreConfig,
  type TempauthSwiftObjectStoreConfig,
  type SwiftStoreOptions,
} from './swift-store';

/** The store a configuration names (the config is validated by its contract schema beforehand). */
export function createObjectStore(
  config: ObjectStoreConfig,
  options: SwiftStoreOptions = {},
): ObjectStore {
  switch (config.kind) {
    case 'local':
      return new LocalDirectoryStore(config.root);
    case 'swift':
      return new SwiftObjectStore(config, options);
  }
}
