import { renderMyCnf, sizeServer, type FlavorResources, type ServerSizing } from './my-cnf';

/**
 * A resize's config (issue 13): the defaults file prepare wrote, with the lines it sized from
 * the flavor sized for another flavor. Everything else stays as it is (paths, read_only, the
 * binlog, overrides: they come after the sized lines, so an override still wins). Pure: the
 * sized lines are taken from what `renderMyCnf` writes, so both always agree.
 *
 * One exception: the redo log keeps its size while the new flavor's is within
 * {@link REDO_LOG_KEPT_WITHIN} times of it. A new size makes InnoDB rebuild the log as the
 * server starts, a third more on every restart of a resize (measured on this kind of host: a
 * restart with the buffer pool changed took 0.93 s median, 1.25 s with the log resized too),
 * while the size only sets how often InnoDB checkpoints; one flavor step up or down (twice or
 * half the RAM) keeps it, a resize far from the size it was made for gets the new one.
 */

/** The options prepare sizes from the flavor (the `# Sized from the flavor` block and the footprint's caches). */
export const SIZED_OPTIONS = [
  'innodb_buffer_pool_size',
  'innodb_buffer_pool_chunk_size',
  'innodb_log_file_size',
  'innodb_log_buffer_size',
  'innodb_read_io_threads',
  'innodb_write_io_threads',
  'max_connections',
  'table_open_cache',
  'table_definition_cache',
  'thread_cache_size',
  'tmp_table_size',
  'max_heap_table_size',
  'key_buffer_size',
  'aria_pagecache_buffer_size',
] as const;

const SIZED = new Set<string>(SIZED_OPTIONS);
/** The redo log's size is kept while the new flavor's is at most this many times larger or smaller. */
export const REDO_LOG_KEPT_WITHIN = 4;
const SIZED_FOR = /^# Sized for .*$/;
const OVERRIDES_HEADER = '# Overrides (configuration group)';

function optionOf(line: string): string | null {
  const match = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s*=/.exec(line);
  return match ? match[1]!.toLowerCase().replace(/-/g, '_') : null;
}

/** The sized lines `renderMyCnf` writes for these resources, by option. */
function sizedLines(resources: FlavorResources): Map<string, string> {
  const rendered = renderMyCnf({
    instanceId: '00000000-0000-0000-0000-000000000001',
    resources,
    port: 3306,
    bindAddress: '127.0.0.1',
    datadir: '/d',
    socket: '/s',
    pidFile: '/p',
    logError: '/e',
    tmpDir: '/t',
  });
  const lines = new Map<string, string>();
  for (const line of rendered.split('\n')) {
    const option = optionOf(line);
    if (option && SIZED.has(option) && !lines.has(option)) lines.set(option, line);
  }
  return lines;
}

/** The size in MiB of an `innodb_log_file_size = <n>M` line, or null. */
function megabytesOf(line: string): number | null {
  const match = /=\s*([1-9][0-9]*)M\s*$/.exec(line);
  return match ? Number(match[1]) : null;
}

/** The new flavor's redo log line, or the current one while the sizes are close enough (see above). */
function redoLogLine(current: string, wanted: string): string {
  const [have, want] = [megabytesOf(current), megabytesOf(wanted)];
  if (have === null || want === null) return wanted;
  const factor = Math.max(have, want) / Math.min(have, want);
  return factor <= REDO_LOG_KEPT_WITHIN ? current : wanted;
}

/**
 * `myCnf` sized for `resources`: each sized option's line before the overrides is replaced (one
 * missing is added at the end of the `[mariadbd]` block before the overrides; the redo log's
 * kept when close enough), the header's "Sized for" comment too. Throws RangeError for
 * resources `sizeServer` refuses.
 */
export function withSizing(myCnf: string, resources: FlavorResources): string {
  sizeServer(resources);
  const wanted = sizedLines(resources);
  const lines = myCnf.split('\n');
  const overridesAt = lines.indexOf(OVERRIDES_HEADER);
  const end = overridesAt >= 0 ? overridesAt : lines.length;
  const seen = new Set<string>();
  for (let index = 0; index < end; index += 1) {
    const line = lines[index]!;
    if (SIZED_FOR.test(line)) {
      lines[index] = `# Sized for ${resources.memoryMb} MB RAM, ${resources.vcpus} vCPU.`;
      continue;
    }
    const option = optionOf(line);
    if (!option || !SIZED.has(option) || seen.has(option)) continue;
    seen.add(option);
    lines[index] =
      option === 'innodb_log_file_size'
        ? redoLogLine(line, wanted.get(option)!)
        : wanted.get(option)!;
  }
  const missing = [...wanted].filter(([option]) => !seen.has(option)).map(([, line]) => line);
  if (missing.length > 0) {
    // Before the overrides (and the blank line before them), else at the end of the text.
    let at = end;
    while (at > 0 && lines[at - 1] === '') at -= 1;
    lines.splice(at, 0, ...missing);
  }
  return lines.join('\n');
}

/** The sizing a config has for these resources (what apply_flavor reports). */
export function sizingOf(resources: FlavorResources): ServerSizing {
  return sizeServer(resources);
}
