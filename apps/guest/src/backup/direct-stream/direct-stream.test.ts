import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TLSSocket } from 'node:tls';

import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

import { DATA_FRAME, frameHeader, FrameParser, LATE_FRAME, MANIFEST_FRAME } from './frames';
import { connectChannel, isChannelName, listenForChannel } from './socket-channel';
import {
  connectStream,
  receiveStream,
  type OpenedChannel,
  type StreamAddress,
} from './stream-client';
import { isLoopbackAddress, StreamServer } from './stream-server';

// The direct stream's two ends over real TLS-PSK on localhost (issue 18): one stream shared
// by several replicas, a peer without the key refused, and a break midway seen as one.
const logger = pino({ level: 'silent' });
const identity = 'coffer-snapshot-test';
const opened: StreamServer[] = [];

async function listen(key: Buffer): Promise<StreamServer> {
  const server = await StreamServer.listen({ host: '127.0.0.1', port: 0, key, identity, logger });
  opened.push(server);
  return server;
}

function address(port: number, key: Buffer, connectWindowMs = 2_000): StreamAddress {
  return { host: '127.0.0.1', port, key, identity, connectWindowMs };
}

async function collect(socket: Awaited<ReturnType<typeof connectStream>>['socket']) {
  const pieces: Buffer[] = [];
  const { manifest, bytes } = await receiveStream(socket!, async (data) => {
    pieces.push(Buffer.from(data));
  });
  return { data: Buffer.concat(pieces), manifest, bytes };
}

afterEach(() => {
  for (const server of opened.splice(0)) server.close();
});

describe('the direct stream', () => {
  it('gives up on a peer that never answers when the window is over', async () => {
    // Accepts the connection and says nothing: as a firewall that drops the packets would.
    const held: Array<{ destroy(): void }> = [];
    const silent = createTcpServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as { port: number };
      const startedAt = Date.now();
      const attempt = await connectStream(address(port, randomBytes(32), 300));
      expect(attempt).toEqual({ socket: null, reason: 'no answer within the window' });
      expect(Date.now() - startedAt).toBeLessThan(2_000);
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
    }
  });

  it('sends one stream to every replica that joined, each receiving every byte and the manifest', async () => {
    const key = randomBytes(32);
    const server = await listen(key);
    const [first, second] = await Promise.all([
      connectStream(address(server.port, key)),
      connectStream(address(server.port, key)),
    ]);
    expect(await server.gather(2, 5_000)).toBe(2);
    const received = Promise.all([collect(first.socket), collect(second.socket)]);
    const pieces = [randomBytes(1), randomBytes(3 * 1024 * 1024), randomBytes(70_000)];
    for (const piece of pieces) await server.write(piece);
    await server.finish(Buffer.from('{"manifest":true}\n'));
    const expected = Buffer.concat(pieces);
    for (const replica of await received) {
      expect(replica.bytes).toBe(expected.length);
      expect(replica.data.equals(expected)).toBe(true);
      expect(replica.manifest.toString()).toBe('{"manifest":true}\n');
    }
    // A latecomer is told the stream went without it.
    const late = await connectStream(address(server.port, key, 2_000));
    await expect(receiveStream(late.socket!, async () => undefined)).rejects.toThrow(
      /already started sending/,
    );
    // Once closed, nobody answers there: a replica falls back to the object store.
    server.close();
    expect((await connectStream(address(server.port, key, 300))).socket).toBeNull();
  });

  it('refuses a replica without the key, which gives up at once; no replica means none joined', async () => {
    const server = await listen(randomBytes(32));
    const started = Date.now();
    const refused = await connectStream(address(server.port, randomBytes(32), 10_000));
    expect(refused.socket).toBeNull();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await server.gather(1, 200)).toBe(0);
  });

  it('gives up on a port where something else answers (the caller falls back to the object store)', async () => {
    const squatter = createTcpServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as { port: number };
    try {
      const result = await connectStream(address(port, randomBytes(32), 3_000));
      expect(result.socket).toBeNull();
    } finally {
      squatter.close();
    }
    // And a source that cannot listen there is told so.
    const taken = createTcpServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const takenPort = (taken.address() as { port: number }).port;
      await expect(
        StreamServer.listen({
          host: '127.0.0.1',
          port: takenPort,
          key: randomBytes(32),
          identity,
          logger,
        }),
      ).rejects.toThrow(/EADDRINUSE/);
    } finally {
      taken.close();
    }
  });

  it('a stream broken midway fails the replica, and the source once no replica is left', async () => {
    const key = randomBytes(32);
    const server = await listen(key);
    const replica = await connectStream(address(server.port, key));
    expect(await server.gather(1, 5_000)).toBe(1);
    let got = 0;
    let arrived: () => void = () => undefined;
    const allArrived = new Promise<void>((resolve) => (arrived = resolve));
    const received = receiveStream(replica.socket!, async (data) => {
      got += data.length;
      if (got === 100_000) arrived();
    });
    await server.write(randomBytes(100_000));
    await allArrived;
    server.close(); // the source dies before the manifest
    await expect(received).rejects.toThrow(/broken/);
    expect(got).toBe(100_000);
    await expect(server.write(randomBytes(10))).rejects.toThrow(/every replica left/);
  });

  it('cuts frames however the bytes arrive, handing data on as it comes (views, no reassembly)', () => {
    const payloads = [randomBytes(1), randomBytes(20_000), Buffer.alloc(0), randomBytes(17)];
    const wire = Buffer.concat([
      ...payloads.flatMap((payload) => [frameHeader(DATA_FRAME, payload.length), payload]),
      frameHeader(MANIFEST_FRAME, 3),
      Buffer.from('end'),
    ]);
    for (const cut of [1, 2, 4, 5, 6, 16_384, wire.length]) {
      const pieces: Buffer[] = [];
      const parser = new FrameParser((piece) => pieces.push(piece));
      let ended = null;
      for (let offset = 0; offset < wire.length; offset += cut) {
        const frame = parser.push(wire.subarray(offset, offset + cut));
        if (frame) ended = frame;
      }
      expect(Buffer.concat(pieces).equals(Buffer.concat(payloads))).toBe(true);
      expect(ended).toEqual({ type: MANIFEST_FRAME, payload: Buffer.from('end') });
      expect(parser.trailing).toBe(0);
    }
    // Bytes after the end are counted (the receiver refuses them), a wrong type or size throws.
    const parser = new FrameParser(() => undefined);
    expect(parser.push(Buffer.concat([frameHeader(LATE_FRAME, 0), Buffer.from('x')]))).toEqual({
      type: LATE_FRAME,
      payload: Buffer.alloc(0),
    });
    expect(parser.trailing).toBe(1);
    expect(() => new FrameParser(() => undefined).push(frameHeader(0x41, 1))).toThrow(/unknown/);
    expect(() => new FrameParser(() => undefined).push(frameHeader(DATA_FRAME, 2 ** 31))).toThrow(
      /a frame of/,
    );
  });

  it('holds the source back while the unpacker is behind, and loses nothing', async () => {
    const key = randomBytes(32);
    const server = await listen(key);
    const replica = await connectStream(address(server.port, key));
    expect(await server.gather(1, 5_000)).toBe(1);
    // A sink that makes the stream wait at every piece it is given until it is released.
    const held: Array<() => void> = [];
    let releases = 0;
    const pieces: Buffer[] = [];
    const received = receiveStream(replica.socket!, (data) => {
      pieces.push(Buffer.from(data));
      return new Promise<void>((resolve) => held.push(resolve));
    });
    const data = randomBytes(32 * 1024 * 1024);
    let releasesWhenSent = -1;
    const sending = (async () => {
      for (let offset = 0; offset < data.length; offset += 1024 * 1024)
        await server.write(data.subarray(offset, offset + 1024 * 1024));
      releasesWhenSent = releases;
      await server.finish(Buffer.from('m'));
    })();
    let isDone = false;
    void received.finally(() => (isDone = true)).catch(() => undefined);
    while (!isDone) {
      for (const release of held.splice(0)) {
        releases++;
        release();
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    // The source could not send it all before the replica took most of it (16 KiB a piece).
    expect(releasesWhenSent).toBeGreaterThan(1000);
    await sending;
    const { bytes, manifest } = await received;
    expect(bytes).toBe(data.length);
    expect(manifest.toString()).toBe('m');
    expect(Buffer.concat(pieces).equals(data)).toBe(true);
  });
});

// The data channel for one replica on the same host (socket-channel.ts): the backup tool's
// stdout is the socket, the unpacker's stdin its other end; the guests keep the control.
// Real processes standing for the tools (`cat`), a real abstract Unix socket.
describe('the socket data channel', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];

  afterEach(() => {
    for (const child of children.splice(0)) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function privateDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-channel-test-'));
    dirs.push(dir);
    return dir;
  }

  /** A process standing for the unpacker: it reads `input` (its stdin) into `path`. */
  function unpackInto(input: Socket, path: string): Promise<void> {
    const child = spawn('sh', ['-c', `cat > '${path}'`], { stdio: [input, 'ignore', 'ignore'] });
    children.push(child);
    input.destroy();
    return new Promise((resolve, reject) =>
      child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`)))),
    );
  }

  /** A process standing for the backup tool: `path`'s bytes on `output`, `delay` s in between. */
  function tool(path: string, output: Socket, delaySeconds = 0): ChildProcess {
    const script = delaySeconds
      ? `head -c 65536 '${path}'; sleep ${delaySeconds}; tail -c +65537 '${path}'`
      : `cat '${path}'`;
    // Its own process group: killing the tool kills its `sleep`, which holds the socket too.
    const child = spawn('sh', ['-c', script], {
      stdio: ['ignore', output, 'ignore'],
      detached: true,
    });
    children.push(child);
    output.destroy();
    return child;
  }

  /** The replica's end as stage-direct.ts makes it, `unpackInto` taking the channel. */
  function receiveOverChannel(socket: TLSSocket, key: Buffer, receivedPath: string) {
    let unpacked: Promise<void> | null = null;
    const received = receiveStream(
      socket,
      () => undefined,
      undefined,
      async (): Promise<OpenedChannel> => {
        const listener = await listenForChannel({ key, timeoutMs: 5_000 });
        unpacked = listener.connection.then((input) => unpackInto(input, receivedPath));
        return { name: listener.name, done: unpacked, stop: () => listener.stop() };
      },
    );
    return { received, unpacked: () => unpacked };
  }

  async function waitForSize(path: string, size: number): Promise<void> {
    while (!existsSync(path) || statSync(path).size < size)
      await new Promise((resolve) => setTimeout(resolve, 10));
  }

  it('is offered only to a replica on this host (loopback): across hosts the data stays in frames', () => {
    for (const address of ['127.0.0.1', '127.3.0.9', '::1'])
      expect(isLoopbackAddress(address)).toBe(true);
    for (const address of ['10.0.0.5', '192.168.1.1', '::ffff:127.0.0.1', 'fe80::1', '128.0.0.1'])
      expect(isLoopbackAddress(address)).toBe(false);
  });

  it("carries one replica's stream from the tool straight to the unpacker, the stream whole once the manifest came", async () => {
    const key = randomBytes(32);
    const server = await listen(key);
    const replica = await connectStream(address(server.port, key));
    expect(await server.gather(1, 5_000)).toBe(1);
    const dir = privateDir();
    const data = randomBytes(8 * 1024 * 1024);
    writeFileSync(join(dir, 'data'), data);
    const receivedPath = join(dir, 'received');
    const { received } = receiveOverChannel(replica.socket!, key, receivedPath);
    const name = await server.offerChannel(5_000);
    expect(isChannelName(name ?? '')).toBe(true);
    // The name is only for this host's kernel: an abstract socket, nothing on disk.
    expect(readFileSync('/proc/net/unix', 'utf8')).toContain(`@${name}`);
    const channel = await connectChannel({ name: name!, key, timeoutMs: 5_000 });
    const source = tool(join(dir, 'data'), channel, 0.2);
    expect(await new Promise((resolve) => source.once('close', resolve))).toBe(0);
    await server.finish(Buffer.from('{"manifest":true}\n'));
    const { manifest, bytes, channel: viaChannel } = await received;
    expect(manifest.toString()).toBe('{"manifest":true}\n');
    expect(viaChannel).toBe(true);
    expect(bytes).toBe(0);
    expect(readFileSync(receivedPath).equals(data)).toBe(true);
    expect(readFileSync('/proc/net/unix', 'utf8')).not.toContain(`@${name}`);
  });

  it.each([
    ['that cannot take a channel', undefined],
    ['whose channel cannot be opened', () => Promise.reject(new Error('no socket here'))],
  ])('a replica %s takes the stream in frames', async (_case, openChannel) => {
    const key = randomBytes(32);
    const server = await listen(key);
    const replica = await connectStream(address(server.port, key));
    expect(await server.gather(1, 5_000)).toBe(1);
    const pieces: Buffer[] = [];
    const received = receiveStream(
      replica.socket!,
      (data) => {
        pieces.push(Buffer.from(data));
        return undefined;
      },
      undefined,
      openChannel,
    );
    expect(await server.offerChannel(5_000)).toBeNull();
    await server.write(Buffer.from('abc'));
    await server.finish(Buffer.from('m'));
    expect(await received).toEqual({ manifest: Buffer.from('m'), bytes: 3, channel: false });
    expect(Buffer.concat(pieces).toString()).toBe('abc');
  });

  it('closes a connection without the key before a byte of it reaches the unpacker, and takes the source that has it', async () => {
    const key = randomBytes(32);
    const refused: string[] = [];
    const listener = await listenForChannel({
      key,
      timeoutMs: 5_000,
      onRefused: (reason) => refused.push(reason),
    });
    const dir = privateDir();
    writeFileSync(join(dir, 'bogus'), randomBytes(100_000));
    const data = randomBytes(300_000);
    writeFileSync(join(dir, 'data'), data);
    // A local process that read the name off /proc/net/unix, with a key of its own.
    const intruder = await connectChannel({
      name: listener.name,
      key: randomBytes(32),
      timeoutMs: 5_000,
    });
    const bogus = tool(join(dir, 'bogus'), intruder);
    await new Promise((resolve) => bogus.once('close', resolve));
    while (refused.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const source = await connectChannel({ name: listener.name, key, timeoutMs: 5_000 });
    tool(join(dir, 'data'), source);
    await unpackInto(await listener.connection, join(dir, 'received'));
    expect(readFileSync(join(dir, 'received')).equals(data)).toBe(true);
    expect(refused).toEqual(['a connection to the data channel without the key was closed']);
  });

  it('the source connects only to a name a replica makes', async () => {
    for (const name of [
      '',
      '../../run/mysqld/mysqld.sock',
      'coffer-stream-xyz',
      `coffer-stream-${'a'.repeat(200)}`,
    ])
      await expect(
        connectChannel({ name, key: randomBytes(32), timeoutMs: 1_000 }),
      ).rejects.toThrow(/not one/);
  });

  it('gives up when the source does not connect in time, and listens no more', async () => {
    const listener = await listenForChannel({ key: randomBytes(32), timeoutMs: 200 });
    await expect(listener.connection).rejects.toThrow(/did not open the data channel in time/);
    expect(readFileSync('/proc/net/unix', 'utf8')).not.toContain(`@${listener.name}`);
  });

  it('a tool that died midway ends the channel early, but the stream fails: no manifest came', async () => {
    const key = randomBytes(32);
    const server = await listen(key);
    const replica = await connectStream(address(server.port, key));
    expect(await server.gather(1, 5_000)).toBe(1);
    const dir = privateDir();
    writeFileSync(join(dir, 'data'), randomBytes(1024 * 1024));
    const receivedPath = join(dir, 'received');
    const { received, unpacked } = receiveOverChannel(replica.socket!, key, receivedPath);
    const name = await server.offerChannel(5_000);
    const source = tool(
      join(dir, 'data'),
      await connectChannel({ name: name!, key, timeoutMs: 5_000 }),
      30,
    );
    await waitForSize(receivedPath, 65_536);
    process.kill(-source.pid!, 'SIGKILL');
    // The channel just ends (the unpacker reads its end, exit 0): only the manifest makes it whole.
    await unpacked();
    server.close();
    await expect(received).rejects.toThrow(/broken after 0 bytes \(no manifest came\)/);
  });
});
