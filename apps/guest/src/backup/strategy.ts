import {
  type BackupManifest,
  type BackupReport,
  type CreateBackupParams,
  type RestoreBackup,
} from '@coffer/contracts';

import { type Socket } from 'node:net';

import { type Tool } from './child-processes';
import { type TakePiece } from './output-channel';
import { type ProgressSink } from './progress';

/**
 * What a datastore's backup tool does for this module (Trove's backup drivers beside its
 * storage): a backup strategy makes the compressed stream, a restore strategy takes the
 * verified one. Chunking, sealing, the object store, the manifest, the reports and the
 * clean-up are this module's, the same for every tool.
 */

/** What the tool tells the report and the manifest, besides the chunks. */
export interface BackupStreamOutcome {
  /** Bytes of the uncompressed stream. */
  rawBytes: number;
  /** The manifest's and the report's `details`: what the datastore records of the backup (its contracts module has the schema). */
  details: BackupManifest['details'];
  /** Where an incremental of this backup would continue from (the report's; the control plane passes it back as the child's `parent.base`); null when none can be made of it. */
  incrementalBase: NonNullable<BackupReport['result']>['incrementalBase'];
}

export interface BackupStreamRun {
  params: CreateBackupParams;
  /** Takes the compressed stream in order; waits while the uploads are behind (the tool's pipe then fills). */
  write(data: Buffer): Promise<void>;
  /**
   * Takes the stream in order like `write`, from a buffer the tool's output is read into
   * again and again (backup/output-channel.ts): null once a piece is taken (copied) and its
   * buffer may be reused, else a promise, and the piece stays untouched until it resolves.
   * Given when the taker copies what it keeps (the chunk writer); a strategy may then read
   * its tool's output in large pieces without allocating a buffer per read.
   */
  append?: TakePiece;
  progress: ProgressSink;
  /**
   * Given for a replica's direct stream over a socket channel (direct-stream/): the tool's
   * stdout is this connected socket (it writes its raw stream straight into it; the guest
   * reads none of it), instead of `write`. The strategy drops its own copy once the tool runs.
   */
  channel?: Socket;
  /** Every tool started goes in here: an interrupt or a failure stops them. */
  running: Set<Tool>;
}

export interface PreparedBackup {
  /** Runs the tools; resolves once the stream ended and every tool exited 0. */
  stream(run: BackupStreamRun): Promise<BackupStreamOutcome>;
  /** Removes what `prepare` made (always called, whatever happened). */
  remove(): void;
}

export interface BackupStrategy {
  /** Recorded in the manifest (the tool's name, e.g. `mariadb-backup`). */
  readonly name: BackupManifest['strategy'];
  /** True for a strategy whose stream honours `channel` (its tool writes straight into it). */
  readonly writesToChannel?: boolean;
  /** Readies the tools (the server answers, their scratch dir) before anything is reported or stored. */
  prepare(backupId: string): Promise<PreparedBackup>;
}

/**
 * Gives a backup's verified plaintext, chunk after chunk, to `sink`; the sink returns a
 * promise only when the feed must wait for it (nothing while it keeps up). A sink given
 * `release` calls it once it holds `plaintext` no more (written, not just queued): the feed
 * may then reuse those bytes (fetch-chunks.ts); one that never calls it costs only memory.
 * `unpacker`, given for an uncompressed stream: `adopt` makes a socket the unpacker's stdin
 * (a replica's socket channel; the feed then calls no sink), resolving once the unpacker
 * read it to its end and exited 0.
 */
export type ChunkFeed = (
  sink: (plaintext: Buffer, release?: () => void) => Promise<void> | undefined,
  unpacker?: { adopt(input: Socket): Promise<void> },
) => Promise<void>;

export interface RestoreStrategy {
  /**
   * Takes one backup's verified stream as it arrives (`feed`) into the restore's scratch dir
   * `workDir`, and returns where it is staged. Nothing may reach the datadir yet.
   */
  stage(
    backup: RestoreBackup,
    workDir: string,
    feed: ChunkFeed,
    /** `isCompressed: false`: a replica's direct stream, as the tool wrote it (default: zstd). */
    options?: { isCompressed?: boolean },
  ): Promise<string>;
}
