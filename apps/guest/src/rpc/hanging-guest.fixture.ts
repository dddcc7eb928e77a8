import { Redis } from 'ioredis';
import pino from 'pino';

import { Mutex } from '../lib/mutex';
import { RpcServer, type RpcHandlers } from './rpc-server';

/**
 * A guest's RPC server in a process of its own, for orphaned-jobs.test.ts to kill with SIGKILL
 * in the middle of a request: its create_database says `took <name>` on stdout and never
 * returns. Arguments: the Redis URL, the queue, the instance id, the signing key (hex).
 */
const [redisUrl, queueName, instanceId, signingKeyHex] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
const handlers = {
  create_database: ({ name }: { name: string }) => {
    process.stdout.write(`took ${name}\n`);
    return new Promise(() => undefined);
  },
} as unknown as RpcHandlers;
new RpcServer({
  connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
  queueName,
  instanceId,
  signingKey: Buffer.from(signingKeyHex, 'hex'),
  handlers,
  mutex: new Mutex(),
  logger: pino({ level: 'silent' }),
}).start();
