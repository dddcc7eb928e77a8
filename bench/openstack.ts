/**
 * OpenStack benchmark (issue 14): create → ACTIVE through Coffer's OpenStack compute provider
 * (`OpenStackComputeProvider.createServer`, what the taskmanager calls: a Nova server with a
 * Cinder volume attached at boot, a port in its own security group `SecGroup-<id>`, the
 * guest's files in the user data on a config drive) against the same resources made by a bare
 * script issuing the REST calls with `fetch` (lib/bare-openstack.ts: token once, calls in
 * parallel where OpenStack allows, polls every 250 ms). Both sides make their resources the
 * same size, with the same user data and one ingress rule, in the same run, alternating which
 * goes first each round; each create is followed by its side's delete (timed too), and the
 * bench checks that nothing of either side is left.
 *
 * Only the server is measured, not a guest: the loopback cloud's fake virt driver boots
 * nothing, and a guest played on this machine (as the provider's integration test does) would
 * add the same local mariadbd start to Coffer's side that a bare script cannot have.
 *
 * Needs the loopback OpenStack (`node scripts/coffer.mjs openstack start`) or any cloud named
 * by OS_AUTH_URL / OS_USERNAME / OS_PASSWORD / OS_PROJECT_NAME with an image `fake-image`
 * (BENCH_OS_IMAGE), a network `private` (BENCH_OS_NETWORK) and a 1 vCPU / 512 MB flavor.
 * `BENCH_RUNS` rounds (default 5) after one warm-up round of each side that is not counted.
 * Run with `npm run bench:openstack`.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { type ServerSpec } from '@coffer/compute';
import {
  guestFiles,
  instanceTag,
  OpenStackComputeProvider,
  userDataFor,
} from '@coffer/compute-openstack';
import {
  KeystoneAuth,
  listPorts,
  listSecurityGroups,
  listServers,
  listVolumes,
  OpenStackSession,
} from '@coffer/openstack';

import { BARE_POLL_MS, BareCloud } from './lib/bare-openstack';
import { runBench } from './lib/coffer';
import { loadText, sampleLoad } from './lib/load';
import { median, now, printTable, round, stats } from './lib/report';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const AUTH_URL = process.env.OS_AUTH_URL ?? 'http://127.0.0.1:5000/v3';
const USERNAME = process.env.OS_USERNAME ?? 'admin';
const PASSWORD = process.env.OS_PASSWORD ?? 'admin';
const PROJECT = process.env.OS_PROJECT_NAME ?? 'admin';
const IMAGE = process.env.BENCH_OS_IMAGE ?? 'fake-image';
const NETWORK = process.env.BENCH_OS_NETWORK ?? 'private';
const FLAVOR = { vcpus: 1, ramMb: 512 };
const VOLUME_GB = 1;
const SOURCE_CIDR = '10.20.0.0/24';
const DATABASE_PORT = 3306;

/** An instance's spec as the taskmanager gives it (the guest's files are placeholders of the real size). */
function specFor(instanceId: string): ServerSpec {
  return {
    instanceId,
    projectId: randomUUID(),
    flavor: FLAVOR,
    volumeGb: VOLUME_GB,
    allowedSources: { isPublic: false, cidrs: [SOURCE_CIDR] },
    port: DATABASE_PORT,
    guestInfo: {
      instanceId,
      projectId: randomUUID(),
      datastoreManager: 'mariadb',
      datastoreVersion: '10.11',
    },
    agentConfig: {
      redisUrl: 'redis://guest:secret@10.0.0.1:6379',
      rpcQueue: `guest-${instanceId}`,
      conductorStream: 'conductor',
      guestSecret: randomBytes(32).toString('base64'),
    },
  };
}

/** Counts the session's successful requests (its debug lines), and keeps the provider's step timings. */
function countingLogger() {
  const state = { requests: 0, steps: {} as Record<string, number> };
  const logger = {
    debug: (obj: object, msg?: string) => {
      if (msg === 'openstack request') state.requests += 1;
    },
    info: (obj: object, msg?: string) => {
      if (msg === 'openstack server created') state.steps = obj as Record<string, number>;
    },
    // a 404 is what a wait for a deleted server or volume is looking for
    warn: (obj: object, msg?: string) => {
      if ((obj as { status?: number }).status !== 404) console.warn(msg, JSON.stringify(obj));
    },
    error: (obj: object, msg?: string) => console.error(msg, JSON.stringify(obj)),
  };
  return { state, logger };
}

async function main() {
  const loadSampler = sampleLoad();
  const counted = countingLogger();
  const session = new OpenStackSession({
    auth: new KeystoneAuth({
      authUrl: AUTH_URL,
      credentials: {
        type: 'password',
        username: USERNAME,
        password: PASSWORD,
        projectName: PROJECT,
      },
    }),
    logger: counted.logger,
  });
  const provider = new OpenStackComputeProvider({
    session,
    image: IMAGE,
    network: NETWORK,
    databasePort: DATABASE_PORT,
    logger: counted.logger,
  });
  const bare = new BareCloud({
    authUrl: AUTH_URL,
    username: USERNAME,
    password: PASSWORD,
    projectName: PROJECT,
    image: IMAGE,
    network: NETWORK,
    flavor: FLAVOR,
  });
  // Neither side's token is timed: a deployment's worker holds one already.
  await Promise.all([bare.init(), session.auth.token()]);

  const created = { bare: [] as number[], coffer: [] as number[] };
  const deleted = { bare: [] as number[], coffer: [] as number[] };
  const requests = { bare: [] as number[], coffer: [] as number[] };
  const steps: Record<string, number>[] = [];
  const ids = { bare: [] as string[], coffer: [] as string[] };

  const runBare = async (counts: boolean) => {
    const id = randomUUID();
    ids.bare.push(id);
    const spec = specFor(id);
    const userData = userDataFor(
      guestFiles(spec.guestInfo, { ...spec.agentConfig, datastore: { port: DATABASE_PORT } }),
    );
    bare.requests = 0;
    let started = now();
    const made = await bare.create(id, {
      volumeGb: VOLUME_GB,
      sourceCidr: SOURCE_CIDR,
      port: DATABASE_PORT,
      userData,
    });
    const createMs = now() - started;
    const createRequests = bare.requests;
    started = now();
    await bare.delete(made);
    const deleteMs = now() - started;
    if (counts) {
      created.bare.push(createMs);
      deleted.bare.push(deleteMs);
      requests.bare.push(createRequests);
    }
    return { createMs, deleteMs, createRequests };
  };

  const runCoffer = async (counts: boolean) => {
    const id = randomUUID();
    ids.coffer.push(id);
    counted.state.requests = 0;
    let started = now();
    const info = await provider.createServer(specFor(id));
    const createMs = now() - started;
    const createRequests = counted.state.requests;
    if (info.status !== 'ACTIVE') throw new Error(`Coffer's server is ${info.status}`);
    steps.push(counted.state.steps);
    started = now();
    await provider.deleteServer(id);
    const deleteMs = now() - started;
    if (counts) {
      created.coffer.push(createMs);
      deleted.coffer.push(deleteMs);
      requests.coffer.push(createRequests);
    }
    return { createMs, deleteMs, createRequests };
  };

  const s = (ms: number) => round(ms / 1000, 2);
  try {
    // One round of each, not counted: the first servers after a start are slow for both.
    const warm = [await runBare(false), await runCoffer(false)];
    console.log(
      `warm-up: bare ${s(warm[0]!.createMs)} s, Coffer ${s(warm[1]!.createMs)} s (not counted)`,
    );
    for (let run = 0; run < RUNS; run++) {
      const order = run % 2 === 0 ? (['bare', 'coffer'] as const) : (['coffer', 'bare'] as const);
      const line: string[] = [];
      for (const side of order) {
        const r = side === 'bare' ? await runBare(true) : await runCoffer(true);
        line.push(
          `${side} create ${s(r.createMs)} s (${r.createRequests} requests), delete ${s(r.deleteMs)} s`,
        );
      }
      console.log(`round ${run + 1}: ${line.join('; ')}`);
    }
  } finally {
    // Whatever happened, nothing of either side stays in the cloud.
    for (const id of ids.coffer) await provider.deleteServer(id).catch(() => undefined);
  }

  const left: string[] = [];
  for (const id of ids.bare) left.push(...(await bare.leftovers(id)));
  for (const id of ids.coffer) {
    const tags = [instanceTag(id)];
    const [servers, volumes, groups, ports] = await Promise.all([
      listServers(session, { tags }),
      listVolumes(session, { metadata: { 'coffer-instance': id } }),
      listSecurityGroups(session, { tags }),
      listPorts(session, { tags }),
    ]);
    const n = servers.length + volumes.length + groups.length + ports.length;
    if (n > 0) left.push(`${n} parts of Coffer's ${id}`);
  }
  if (left.length > 0) throw new Error(`left in the cloud: ${left.join(', ')}`);

  const load = loadSampler.stop();
  const result = {
    create: { bare: stats(created.bare), coffer: stats(created.coffer) },
    delete: { bare: stats(deleted.bare), coffer: stats(deleted.coffer) },
  };
  // Each round's two creates ran one after the other: their ratio sees the same load, which
  // on a shared machine moves more between rounds than within one.
  const paired = (ms: { bare: number[]; coffer: number[] }) =>
    round(median(ms.coffer.map((coffer, i) => coffer / ms.bare[i]!)), 2);
  const ratios = {
    createPairedMedian: paired(created),
    deletePairedMedian: paired(deleted),
    createMedian: round(median(created.coffer) / median(created.bare), 2),
    createBest: round(Math.min(...created.coffer) / Math.min(...created.bare), 2),
    deleteMedian: round(median(deleted.coffer) / median(deleted.bare), 2),
    deleteBest: round(Math.min(...deleted.coffer) / Math.min(...deleted.bare), 2),
  };
  const stepMedians = Object.fromEntries(
    ['groupAndVolumeMs', 'portMs', 'serverMs'].map((key) => [
      key,
      median(steps.slice(1).map((step) => step[key] ?? 0)),
    ]),
  );
  printTable(
    `OpenStack server with a volume and SecGroup-<id> to ACTIVE, ${RUNS} round(s) after a warm-up; bare polls every ${BARE_POLL_MS} ms; ${loadText(load)}`,
    [
      'operation',
      'bare median s',
      'Coffer median s',
      'median ratio',
      'paired median ratio',
      'best ratio',
      'target',
    ],
    [
      [
        'create → ACTIVE',
        result.create.bare.medianS,
        result.create.coffer.medianS,
        ratios.createMedian,
        ratios.createPairedMedian,
        ratios.createBest,
        '≤ 1.2',
      ],
      [
        '  runs (s)',
        result.create.bare.runsS.join(' '),
        result.create.coffer.runsS.join(' '),
        '',
        '',
        '',
        '',
      ],
      ['  requests (median)', median(requests.bare), median(requests.coffer), '', '', '', ''],
      [
        'delete → nothing left',
        result.delete.bare.medianS,
        result.delete.coffer.medianS,
        ratios.deleteMedian,
        ratios.deletePairedMedian,
        ratios.deleteBest,
        '—',
      ],
      [
        '  runs (s)',
        result.delete.bare.runsS.join(' '),
        result.delete.coffer.runsS.join(' '),
        '',
        '',
        '',
        '',
      ],
    ],
  );
  console.log(`Coffer's create steps (median ms): ${JSON.stringify(stepMedians)}`);
  console.log(
    JSON.stringify({
      bench: 'openstack',
      runs: RUNS,
      barePollMs: BARE_POLL_MS,
      load,
      ...result,
      requests: { bare: median(requests.bare), coffer: median(requests.coffer) },
      cofferSteps: stepMedians,
      ratios,
    }),
  );
}

runBench(main);
