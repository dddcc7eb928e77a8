// The marker of a backup under way is the datastore-neutral backup module's; re-exported
// here because the manager checks for it at boot without loading the backup chunk.
export { backupMarkerPath } from '../../../backup/marker';
