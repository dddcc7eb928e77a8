/**
 * Environment variables a compute provider sets for the guest it starts (besides the two
 * injected files of guest-config.ts). Light: the guest's early boot imports it.
 */

/**
 * A host directory datastores may keep pristine templates in, shared by the guests of one host
 * (the local provider gives `<dataDir>/templates`; a guest image may bake one in). Each datastore
 * uses a subdirectory of its name (MariaDB: apps/guest/src/managers/mariadb/datadir-template.ts).
 */
export const GUEST_TEMPLATE_DIR_ENV = 'COFFER_GUEST_TEMPLATE_DIR';
