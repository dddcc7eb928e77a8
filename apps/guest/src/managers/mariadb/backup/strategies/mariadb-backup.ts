import { mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { type Readable, type Writable } from 'node:stream';

import { lsnSchema } from '@coffer/contracts/datastores/mariadb';

import {
  awaitTools,
  readIoCounters,
  startTool,
  ToolFailedError,
  type Tool,
} from '../../../../backup/child-processes';
import { zstdCompressArgs, zstdDecompressArgs } from '../../../../backup/compression';
import { openOutputChannel } from '../../../../backup/output-channel';
import { PROGRESS_INTERVAL_MS } from '../../../../backup/progress';
import { type BackupStrategy, type RestoreStrategy } from '../../../../backup/strategy';
import { TenantFacingError } from '../../../../errors';
import { type BackupContext, type FoundTools, type ToolEnv } from '../backup-context';
import { mariadbStrategy } from './mariadb-strategy';
import { estimateDatadirBytes, readPhysicalMetadata } from './physical-metadata';

/**
 * mariadb-backup (physical: FULL, and INCREMENTAL from its parent's to_lsn, its `base`). Backup:
 * `mariadb-backup --backup --stream=xbstream` writes straight into zstd; progress from its
 * /proc I/O counters against the datadir's size; LSNs, binlog position and GTID from
 * --extra-lsndir. Restore: the stream unpacked as it arrives (`zstd -d | mbstream -x`), then
 * `--prepare` of the base, each incremental applied in order, `--move-back`.
 */

/** An incremental's parent `base`: for MariaDB, the parent's checkpoint LSN `to` (mariadbIncrementalBase). */
function parentLsn(base: string): string {
  const lsn = lsnSchema.safeParse(base);
  if (!lsn.success)
    throw new TenantFacingError(
      'The incremental backup cannot be made: its parent did not record a checkpoint LSN.',
    );
  return lsn.data;
}

export function mariadbBackupStrategy(ctx: BackupContext): BackupStrategy {
  return {
    writesToChannel: true,
    ...mariadbStrategy(
      ctx,
      'mariadb-backup',
      async (work, tools, { params, write, append, channel: replica, progress, running }) => {
        const lsnDir = join(work.dir, 'lsn');
        const args = [
          `--defaults-file=${work.clientCnf}`,
          '--backup',
          '--stream=xbstream',
          `--target-dir=${join(work.dir, 'target')}`,
          `--extra-lsndir=${lsnDir}`,
          ...(params.type === 'INCREMENTAL' && params.parent
            ? [`--incremental-lsn=${parentLsn(params.parent.base)}`]
            : []),
        ];
        const env = { PATH: ctx.path };
        // The compressed stream, read in large pieces into one reused buffer when the taker
        // copies them (the chunk writer): no buffer allocated per pipe read.
        const channel = params.direct || !append ? null : await openOutputChannel();
        let backup: Tool | null = null;
        let zstd: Tool | null = null;
        try {
          // A replica's socket channel is the tool's stdout itself (direct-stream/socket-channel.ts).
          backup = startTool('mariadb-backup', tools.mariadbBackup, args, {
            stdio: ['ignore', params.direct && replica ? replica : 'pipe', 'pipe'],
            env,
            cwd: work.dir,
          });
          running.add(backup);
          // mariadb-backup writes straight into zstd; only the compressed stream reaches the guest.
          // A replica's direct stream goes as it is (no CPU spent on what lives a few seconds).
          if (!params.direct) {
            zstd = startTool('zstd', tools.zstd, zstdCompressArgs(params.compressionLevel), {
              stdio: [backup.child.stdout!, channel ? channel.toolEnd : 'pipe', 'pipe'],
              env,
            });
            running.add(zstd);
            backup.child.stdout!.destroy();
          }
        } catch (error) {
          backup?.stop();
          channel?.destroy();
          throw error;
        }
        // The guest's copy of zstd's stdout (or of the replica's channel) closes: the stream
        // ends when the tool writing it exits.
        channel?.handedOver();
        if (params.direct && replica) replica.destroy();
        const source = backup;
        const compressor = zstd;

        const total = estimateDatadirBytes(ctx.layout.datadir);
        let written = 0;
        const sample = () => {
          const io = readIoCounters(source.child.pid);
          if (!io) return;
          written = io.wchar;
          progress.rawBytes = written;
          progress.update(total > 0 ? (100 * io.rchar) / total : 0);
        };
        const timer = setInterval(sample, PROGRESS_INTERVAL_MS / 2);
        try {
          if (channel && append) {
            await channel.pump(append);
          } else if (params.direct && replica) {
            // The replica's unpacker reads the tool's stdout: nothing passes through here.
            await source.done;
          } else {
            const output = compressor ? compressor.child.stdout! : source.child.stdout!;
            for await (const data of output as AsyncIterable<Buffer>) {
              await write(data);
            }
          }
          sample();
          await awaitTools(compressor ? [source, compressor] : [source]);
        } catch (error) {
          source.stop();
          compressor?.stop();
          channel?.destroy();
          throw error;
        } finally {
          clearInterval(timer);
        }
        return { rawBytes: written, ...readPhysicalMetadata(lsnDir) };
      },
    ),
  };
}

/**
 * A physical backup's verified stream, unpacked as it arrives (`zstd -d | mbstream -x`) into
 * a scratch dir of the volume: each chunk passes its checks before any of its bytes reach
 * the unpacker, and nothing reaches the datadir before every chunk of the chain has.
 */
export function mariadbBackupRestoreStrategy(env: ToolEnv): RestoreStrategy {
  return {
    stage: async (backup, workDir, feed, { isCompressed = true } = {}) => {
      const tools = env.tools();
      const processEnv = { PATH: env.path };
      const dir = join(workDir, backup.backupId);
      mkdirSync(dir, { recursive: true });
      // A replica's direct stream comes as mariadb-backup wrote it: straight into mbstream,
      // started at its first piece, or on the replica's socket channel (which it then reads).
      const zstd = isCompressed
        ? startTool('zstd', tools.zstd, zstdDecompressArgs(), {
            stdio: ['pipe', 'pipe', 'pipe'],
            env: processEnv,
          })
        : null;
      const unpacker: { mbstream: Tool | null; done: Promise<void> | null } = {
        mbstream: null,
        done: null,
      };
      const startUnpacker = (input: Readable | null): Tool => {
        const mbstream = startTool('mbstream', tools.mbstream, ['-x', '-C', dir], {
          stdio: [input ?? 'pipe', 'ignore', 'pipe'],
          env: processEnv,
        });
        unpacker.mbstream = mbstream;
        unpacker.done = awaitTools(zstd ? [zstd, mbstream] : [mbstream]);
        unpacker.done.catch(() => undefined);
        return mbstream;
      };
      let pipe: Writable | null = null;
      if (zstd) {
        startUnpacker(zstd.child.stdout!);
        zstd.child.stdout!.destroy();
        pipe = zstd.child.stdin!;
        pipe.on('error', () => undefined);
      }
      /** The unpacker's stdin pipe (mbstream started with one when it is not running yet). */
      const unpackerPipe = (): Writable => {
        if (pipe) return pipe;
        if (unpacker.mbstream)
          throw new Error('the unpacker reads a channel: no piece may come in frames');
        pipe = startUnpacker(null).child.stdin!;
        // A stopped unpacker shows as its tool's failure, not as an error on this pipe.
        pipe.on('error', () => undefined);
        return pipe;
      };
      try {
        let isCorked = false;
        await feed(
          (plaintext, release) => {
            const stdin = unpackerPipe();
            // A direct stream hands over 16 KiB at a time: what arrives in one turn of the event
            // loop goes to the unpacker's pipe in one write (corked until the next turn).
            if (!isCorked) {
              isCorked = true;
              stdin.cork();
              setImmediate(() => {
                isCorked = false;
                stdin.uncork();
              });
            }
            // Pieces queue up to 256 KiB before waiting for the unpacker (few enough to die
            // young: direct-stream/frames.ts); no promise at all while it keeps up.
            // `release` once this write is in the pipe (the feed may reuse the bytes then).
            const isBelowMark = release
              ? stdin.write(plaintext, () => release())
              : stdin.write(plaintext);
            if (isBelowMark || stdin.writableLength <= 256 * 1024) return undefined;
            return Promise.race([
              once(stdin, 'drain').then(() => undefined),
              unpacker.done!.then(() => {
                throw new Error('the unpacker stopped before the end of the stream');
              }),
            ]);
          },
          zstd
            ? undefined
            : {
                adopt: (socket) => {
                  if (unpacker.mbstream)
                    throw new Error('the unpacker already takes the stream in pieces');
                  startUnpacker(socket);
                  // mbstream's copy reads the channel; this one closes.
                  socket.destroy();
                  return unpacker.done!;
                },
              },
        );
        if (!unpacker.mbstream) unpackerPipe();
        pipe?.end();
        await unpacker.done;
      } catch (error) {
        zstd?.stop();
        unpacker.mbstream?.stop();
        if (error instanceof ToolFailedError) {
          throw new TenantFacingError(
            `Restoring backup ${backup.backupId} failed: ${error.message}`,
            error.details,
            { cause: error },
          );
        }
        throw error;
      }
      return dir;
    },
  };
}

function runMariadbBackup(found: FoundTools, name: string, args: string[]): Promise<void> {
  return awaitTools([
    startTool(name, found.tools.mariadbBackup, ['--no-defaults', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: found.path },
    }),
  ]);
}

/** Makes the unpacked full backup in `base` consistent. */
export function prepareBase(found: FoundTools, base: string): Promise<void> {
  return runMariadbBackup(found, 'mariadb-backup --prepare', ['--prepare', `--target-dir=${base}`]);
}

/** Applies one unpacked incremental to the prepared base (in chain order). */
export function applyIncremental(
  found: FoundTools,
  base: string,
  incremental: string,
): Promise<void> {
  return runMariadbBackup(found, 'mariadb-backup --prepare --incremental-dir', [
    '--prepare',
    `--target-dir=${base}`,
    `--incremental-dir=${incremental}`,
  ]);
}

/** Moves the prepared base into `datadir` (which must not exist yet). */
export function moveBack(found: FoundTools, base: string, datadir: string): Promise<void> {
  return runMariadbBackup(found, 'mariadb-backup --move-back', [
    '--move-back',
    `--target-dir=${base}`,
    `--datadir=${datadir}`,
  ]);
}
