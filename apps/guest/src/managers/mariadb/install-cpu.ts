import { readFileSync } from 'node:fs';

/**
 * `mariadb-install-db` runs on one CPU. Measured on the 2-vCPU machines Coffer is developed
 * on: its bootstrap server (about 0.55 s of mostly single-threaded work) stalls for a further
 * second or more in about half the runs whenever another process is busy at the same time
 * (here: the guest's own Node start-up, which the early install overlaps). Pinned to one CPU,
 * with the other process free to use the rest, it never stalled in the same trials. The
 * stall looks like a timed wait running out inside the server's start-up (not confirmed).
 * Keeping a bootstrap on one CPU costs nothing measurable: it hardly runs on two at once.
 */

/** The CPUs this process may run on (`Cpus_allowed_list` of /proc/self/status), or null when unknown. */
export function allowedCpus(statusText?: string): number[] | null {
  let text = statusText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return null;
    }
  }
  const list = /^Cpus_allowed_list:\s*(\S+)\s*$/m.exec(text)?.[1];
  if (!list) return null;
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) return null;
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    for (let cpu = first; cpu <= last && cpus.length < 4096; cpu++) cpus.push(cpu);
  }
  return cpus.length > 0 ? cpus : null;
}

/**
 * The CPU an install runs on: one of the allowed ones, chosen by `seed` (the server's port),
 * so installs of many instances at once spread over every CPU. Null when there is only one
 * CPU, or the list cannot be read: the install then runs unpinned.
 */
export function chooseInstallCpu(
  seed: number,
  cpus: number[] | null = allowedCpus(),
): number | null {
  if (!cpus || cpus.length < 2) return null;
  return cpus[Math.abs(Math.trunc(seed)) % cpus.length]!;
}
