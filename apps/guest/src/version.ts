/** Reported in every heartbeat; bumped with the guest's releases. */
export const GUEST_VERSION = '0.1.0';
