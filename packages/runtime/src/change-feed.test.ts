import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';

import { type ChangeEvent } from '@coffer/contracts';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ChangeFeed, ChangePublisher } from './change-feed';
import { createLogger } from './logger';

/** Publisher and feed over a real Redis (REDIS_URL, as the other packages' tests). */

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const channel = `coffer-test-events-${randomUUID()}`;
const logger = createLogger({
  service: 'coffer-test',
  level: 'silent',
  destination: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

let publisherRedis: Redis;
let subscriberRedis: Redis;
let feed: ChangeFeed;
let publisher: ChangePublisher;

beforeAll(async () => {
  publisherRedis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  subscriberRedis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  feed = new ChangeFeed(subscriberRedis, channel, logger);
  // Made on first publish, as the web app's is.
  publisher = new ChangePublisher(() => publisherRedis, channel, logger);
  await feed.start();
});

afterAll(async () => {
  await feed.close();
  await Promise.all([publisherRedis.quit(), subscriberRedis.quit()]);
});

function nextOf(instanceId: string): Promise<ChangeEvent> {
  return new Promise((resolve) => {
    const off = feed.onInstance(instanceId, (event) => {
      off();
      resolve(event);
    });
  });
}

describe('change feed', () => {
  it('hands a published event to the listeners of its instance only', async () => {
    const projectId = randomUUID();
    const [mine, other] = [randomUUID(), randomUUID()];
    let otherCalls = 0;
    const offOther = feed.onInstance(other, () => otherCalls++);
    const received = nextOf(mine);
    await publisher.publish({ type: 'instance.changed', projectId, instanceId: mine });
    expect(await received).toMatchObject({ type: 'instance.changed', projectId, instanceId: mine });
    expect((await received).at).toBeTypeOf('number');
    offOther();
    expect(otherCalls).toBe(0);
  });

  it('streams every event to a listener until its signal aborts, dropping malformed ones', async () => {
    const controller = new AbortController();
    const events = feed.listen(controller.signal);
    const instanceId = randomUUID();
    await publisherRedis.publish(channel, '{"type":"nonsense"}');
    await publisher.publish({
      type: 'backup.changed',
      projectId: randomUUID(),
      instanceId,
      backupId: randomUUID(),
    });
    const first = await events.next();
    expect(first.value).toMatchObject({ type: 'backup.changed', instanceId });
    controller.abort();
    expect((await events.next()).done).toBe(true);
  });

  it('never throws from publish (a bad event is logged, not sent)', async () => {
    await expect(
      publisher.publish({
        type: 'instance.changed',
        projectId: 'not-a-uuid',
        instanceId: randomUUID(),
      }),
    ).resolves.toBeUndefined();
  });
});
