import { describe, expect, it } from 'vitest';

import { allowedCpus, chooseInstallCpu } from './install-cpu';

describe('the CPU an install runs on', () => {
  it('reads the allowed CPUs, ranges and lists', () => {
    expect(allowedCpus('Name:\tnode\nCpus_allowed_list:\t0-1\n')).toEqual([0, 1]);
    expect(allowedCpus('Cpus_allowed_list:\t0,2-4,7\n')).toEqual([0, 2, 3, 4, 7]);
    expect(allowedCpus('Cpus_allowed_list:\t3\n')).toEqual([3]);
    expect(allowedCpus('Name:\tnode\n')).toBeNull();
    expect(allowedCpus('Cpus_allowed_list:\tzero\n')).toBeNull();
    // This process's own, on Linux.
    expect(allowedCpus()?.length).toBeGreaterThan(0);
  });

  it('spreads installs over the allowed CPUs, and pins nothing with one CPU', () => {
    expect(chooseInstallCpu(0, [0, 1])).toBe(0);
    expect(chooseInstallCpu(3, [0, 1])).toBe(1);
    expect(chooseInstallCpu(5, [2, 4, 6])).toBe(6);
    expect(
      new Set(Array.from({ length: 8 }, (_, seed) => chooseInstallCpu(seed, [0, 1, 2, 3]))),
    ).toEqual(new Set([0, 1, 2, 3]));
    expect(chooseInstallCpu(7, [0])).toBeNull();
    expect(chooseInstallCpu(7, null)).toBeNull();
  });
});
