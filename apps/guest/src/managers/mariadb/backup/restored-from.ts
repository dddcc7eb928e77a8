// What a restored volume was filled from is the datastore-neutral backup module's;
// re-exported here because the manager reads it without loading the backup chunk.
export {
  readRestoredFrom,
  restoredFromPath,
  type RestoredFrom,
} from '../../../backup/restored-from';
