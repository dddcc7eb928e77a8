import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { awaitTools, startTool, ToolFailedError } from '../../../../backup/child-processes';
import { zstdCompressArgs, zstdDecompressArgs } from '../../../../backup/compression';
import { stageToFile } from '../../../../backup/stage-to-file';
import { type BackupStrategy, type RestoreStrategy } from '../../../../backup/strategy';
import { TenantFacingError } from '../../../../errors';
import { type BackupContext, type FoundTools } from '../backup-context';
import { mariadbStrategy } from './mariadb-strategy';
import { dumpAccounts, tenantSchemas } from './tenant-scope';

/**
 * mariadb-dump (LOGICAL). Backup: the tenant's accounts as SQL, then `mariadb-dump
 * --single-transaction --master-data=2 --gtid` of the tenant's schemas, into zstd; progress
 * from the bytes dumped against the schemas' size; binlog position and GTID from the dump's
 * header. Restore: the verified stream kept compressed in a staging file, fed to the running
 * server with the `mariadb` client.
 */

export function mariadbDumpStrategy(ctx: BackupContext): BackupStrategy {
  return mariadbStrategy(
    ctx,
    'mariadb-dump',
    async (work, tools, { params, write, progress, running }) => {
      const env = { PATH: ctx.path };
      const accounts = await dumpAccounts(ctx);
      const schemas = await tenantSchemas(ctx);
      const zstd = startTool('zstd', tools.zstd, zstdCompressArgs(params.compressionLevel), {
        stdio: ['pipe', 'pipe', 'pipe'],
        env,
      });
      running.add(zstd);

      let rawBytes = 0;
      let head = '';
      const counter = new Transform({
        transform(data: Buffer, _encoding, done) {
          rawBytes += data.length;
          // The dump's header says where the binary log was at its consistent point.
          if (head.length < 64 * 1024)
            head += data.toString('utf8', 0, Math.min(data.length, 64 * 1024));
          progress.rawBytes = rawBytes;
          progress.update(schemas.bytes > 0 ? (100 * rawBytes) / schemas.bytes : 0);
          done(null, data);
        },
      });

      const feed = (async () => {
        zstd.child.stdin!.write(accounts);
        rawBytes += Buffer.byteLength(accounts);
        if (schemas.names.length === 0) {
          zstd.child.stdin!.end();
          return;
        }
        const dump = startTool(
          'mariadb-dump',
          tools.mariadbDump,
          [
            `--defaults-file=${work.clientCnf}`,
            '--single-transaction',
            '--quick',
            '--routines',
            '--events',
            '--triggers',
            '--hex-blob',
            '--master-data=2',
            '--gtid',
            '--databases',
            ...schemas.names,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: work.dir },
        );
        running.add(dump);
        await Promise.all([pipeline(dump.child.stdout!, counter, zstd.child.stdin!), dump.done]);
      })();
      feed.catch(() => zstd.stop());

      try {
        for await (const data of zstd.child.stdout! as AsyncIterable<Buffer>) {
          await write(data);
        }
        await feed;
        await zstd.done;
      } catch (error) {
        for (const tool of running) tool.stop();
        throw error;
      }
      const file = /CHANGE MASTER TO MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=(\d+)/.exec(head);
      const gtid = /gtid_slave_pos='([^']*)'/.exec(head);
      return {
        rawBytes,
        lsn: null,
        binlog: file?.[1] && file[2] ? { file: file[1], position: Number(file[2]) } : null,
        gtid: gtid?.[1] || null,
      };
    },
  );
}

/** A logical backup's verified stream, kept compressed until the server runs. */
export const mariadbDumpRestoreStrategy: RestoreStrategy = {
  stage: (backup, workDir, feed) => stageToFile(feed, join(workDir, `${backup.backupId}.zst`)),
};

/** Feeds a staged dump to the running server as the guest's account (its client option file). */
export async function importDump(
  found: FoundTools,
  backupId: string,
  staging: string,
  clientCnf: string,
): Promise<void> {
  const env = { PATH: found.path };
  try {
    const zstd = startTool('zstd', found.tools.zstd, zstdDecompressArgs(staging), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    const client = startTool(
      'mariadb',
      found.tools.mariadbClient,
      [`--defaults-file=${clientCnf}`, '--binary-mode', '--max-allowed-packet=1G'],
      { stdio: [zstd.child.stdout!, 'ignore', 'pipe'], env },
    );
    zstd.child.stdout!.destroy();
    await awaitTools([zstd, client]);
  } catch (error) {
    if (error instanceof ToolFailedError) {
      throw new TenantFacingError(
        `Restoring backup ${backupId} failed: ${error.message}`,
        error.details,
        { cause: error },
      );
    }
    throw error;
  }
}
