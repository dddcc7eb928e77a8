import { z } from 'zod';

/** The kinds of entries of the event timeline (server: services/timeline), by which it is filtered. */
export const timelineKinds = [
  'status',
  'task',
  'fault',
  'backup',
  'restore',
  'resize',
  'configuration',
  'replication',
] as const;
export const timelineKindSchema = z.enum(timelineKinds);
export type TimelineKind = z.infer<typeof timelineKindSchema>;
