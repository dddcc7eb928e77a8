// One guest-image VM under QEMU, as Nova's libvirt driver would start it: direct kernel boot
// (the image's kernel and initrd), the image under a copy-on-write overlay of the VM's own, the
// Cinder volume as a virtio disk whose serial is the volume id, the config drive (ISO9660
// labelled config-2, made with the flags Nova's configdrive.py passes), user-mode networking
// with the database port forwarded to 127.0.0.1. TCG: this machine's KVM cannot run a stock
// kernel (shared/notes/guest-vm-images.md).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GuestImage {
  disk: string;
  kernel: string;
  initrd: string;
  kernelCommandLine: string;
}

/** The image a build left in `outDir` (its manifest, coffer-guest.json). */
export function readGuestImage(outDir: string): GuestImage {
  const manifest = JSON.parse(readFileSync(join(outDir, 'coffer-guest.json'), 'utf8')) as {
    kernelCommandLine: string;
    files: { disk: string; kernel: string; initrd: string };
  };
  return {
    disk: join(outDir, manifest.files.disk),
    kernel: join(outDir, manifest.files.kernel),
    initrd: join(outDir, manifest.files.initrd),
    kernelCommandLine: manifest.kernelCommandLine,
  };
}

/** Nova's config drive: openstack/latest/{meta_data.json,user_data} on an ISO labelled config-2. */
export function makeConfigDrive(
  dir: string,
  {
    uuid,
    name,
    meta,
    userData,
  }: { uuid: string; name: string; meta: Record<string, string>; userData: string },
): string {
  const latest = join(dir, 'content', 'openstack', 'latest');
  mkdirSync(latest, { recursive: true });
  writeFileSync(
    join(latest, 'meta_data.json'),
    JSON.stringify({
      uuid,
      name,
      hostname: name,
      launch_index: 0,
      availability_zone: 'nova',
      meta,
    }),
  );
  writeFileSync(join(latest, 'user_data'), userData);
  const iso = join(dir, 'config-drive.iso');
  // prettier-ignore
  execFileSync('genisoimage', [
    '-o', iso, '-ldots', '-allow-lowercase', '-allow-multidot', '-l',
    '-publisher', 'Coffer guest image test', '-quiet', '-J', '-r', '-V', 'config-2',
    join(dir, 'content'),
  ], { stdio: 'pipe' });
  return iso;
}

export interface VmOptions {
  dir: string;
  image: GuestImage;
  memoryMb: number;
  configDrive: string;
  volume: { path: string; serial: string };
  /** Where the serial console goes. */
  serialLog: string;
  /** host 127.0.0.1:hostPort → guest :guestPort */
  forward: { hostPort: number; guestPort: number };
}

export interface Vm {
  process: ChildProcess;
  serialLog: string;
  /** QEMU's stderr (why it would not start). */
  stderrLog: string;
  /** Grows the volume's disk as Nova does for a Cinder extend (libvirt's blockResize: QMP block_resize). */
  resizeVolume(bytes: number): Promise<void>;
  /** Stops QEMU (SIGTERM, then SIGKILL after 5 s); resolves once it has exited. */
  kill(): Promise<void>;
}

export function startVm(options: VmOptions): Vm {
  const { dir, image } = options;
  const overlay = join(dir, 'root-overlay.qcow2');
  execFileSync('qemu-img', [
    'create',
    '-q',
    '-f',
    'qcow2',
    '-F',
    'qcow2',
    '-b',
    image.disk,
    overlay,
  ]);
  const { serialLog } = options;
  const stderrLog = join(dir, 'qemu.stderr');
  const stderr = openSync(stderrLog, 'a');
  // A UNIX socket's path must be under 108 bytes; the test's own directory may be deeper than
  // that (a checkout under a long path), so the QMP socket lives in a short temporary one.
  const qmpDir = mkdtempSync(join(tmpdir(), 'coffer-qmp-'));
  const qmpSocket = join(qmpDir, 'qmp.sock');
  const { hostPort, guestPort } = options.forward;
  // prettier-ignore
  const args = [
    '--pdeathsig', 'SIGKILL', // QEMU dies with the test process, however it ends
    'qemu-system-x86_64',
    '-name', 'coffer-guest-test',
    '-accel', 'tcg,tb-size=64', '-cpu', 'max', '-m', String(options.memoryMb), '-smp', '1',
    '-nodefaults', '-display', 'none', '-no-reboot',
    '-serial', `file:${serialLog}`,
    '-kernel', image.kernel, '-initrd', image.initrd, '-append', image.kernelCommandLine,
    '-drive', `file=${overlay},if=virtio,format=qcow2,cache=unsafe`,
    '-drive', `file=${options.volume.path},if=none,id=vol,format=qcow2,cache=unsafe`,
    '-device', `virtio-blk-pci,drive=vol,serial=${options.volume.serial}`,
    '-drive', `file=${options.configDrive},if=virtio,format=raw,readonly=on`,
    '-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${hostPort}-:${guestPort}`,
    '-device', 'virtio-net-pci,netdev=n0',
    '-device', 'virtio-rng-pci',
    '-qmp', `unix:${qmpSocket},server=on,wait=off`,
  ];
  const child = spawn('setpriv', args, { stdio: ['ignore', 'ignore', stderr] });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      rmSync(qmpDir, { recursive: true, force: true });
      resolve();
    }),
  );
  return {
    process: child,
    serialLog,
    stderrLog,
    resizeVolume: (bytes) =>
      qmp(qmpSocket, { execute: 'block_resize', arguments: { device: 'vol', size: bytes } }),
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One QMP command on a fresh connection: the greeting, qmp_capabilities, the command; its error thrown. */
function qmp(socket: string, command: object): Promise<void> {
  return new Promise((resolve, reject) => {
    const connection = createConnection(socket);
    let buffer = '';
    let step = 0;
    connection.setEncoding('utf8');
    connection.on('error', reject);
    connection.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const message = JSON.parse(buffer.slice(0, newline)) as { error?: { desc: string } };
        buffer = buffer.slice(newline + 1);
        if ('event' in message) continue;
        if (message.error) {
          connection.destroy();
          return reject(new Error(`QMP: ${message.error.desc}`));
        }
        step += 1;
        if (step === 1) connection.write(`${JSON.stringify({ execute: 'qmp_capabilities' })}\n`);
        else if (step === 2) connection.write(`${JSON.stringify(command)}\n`);
        else {
          connection.end();
          return resolve();
        }
      }
    });
  });
}
