import { type DatastoreRegistration } from '../registry';
import { mariadbEarlyInstall } from './early-install';

/**
 * What MariaDB registers (registry.ts): its manager, loaded when the agent starts, and its
 * early install at boot. Imported by the bundle's entry: only light modules statically.
 */
export const mariadbDatastore: DatastoreRegistration = {
  loadManager: async () => (await import('./mariadb-manager')).createMariadbManager,
  earlyBoot: mariadbEarlyInstall,
};
