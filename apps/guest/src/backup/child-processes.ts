import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * The backup tools as child processes: their stderr kept (the last 64 KiB) for the reason
 * a tenant reads when one fails, their exit awaited, and their I/O counters read from /proc
 * for progress (a tool's pipe to the next never passes through the guest).
 */

const STDERR_TAIL_BYTES = 64 * 1024;

export class ToolFailedError extends Error {
  constructor(
    readonly tool: string,
    readonly reason: string,
    readonly details: string,
  ) {
    super(`${tool} failed: ${reason}`);
    this.name = 'ToolFailedError';
  }
}

export interface Tool {
  readonly name: string;
  readonly child: ChildProcess;
  /** The tool's last words on stderr. */
  stderrTail(): string;
  /** Resolves when it exited with 0; rejects with a ToolFailedError otherwise. */
  readonly done: Promise<void>;
  /** Asks it to stop (SIGTERM), e.g. when another tool of the pipeline failed. */
  stop(): void;
}

/** The first line of a tool's stderr that says what went wrong. */
export function firstProblemLine(text: string): string | null {
  for (const line of text.split('\n')) {
    const match = /(?:\[ERROR\]|FATAL ERROR:|\berror:|ERROR \d+|Got error)\s*(.*)$/i.exec(line);
    if (match?.[0]) {
      const reason = (match[1] ?? '').replace(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\s*/, '').trim();
      return reason || line.trim();
    }
  }
  return null;
}

export function startTool(
  name: string,
  command: string,
  args: string[],
  { stdio, env, cwd }: { stdio: StdioOptions; env: Record<string, string>; cwd?: string },
): Tool {
  const child = spawn(command, args, { stdio, env, cwd });
  let tail = '';
  child.stderr?.on('data', (data: Buffer) => {
    tail = (tail + data.toString('utf8')).slice(-STDERR_TAIL_BYTES);
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (error) =>
      reject(new ToolFailedError(name, `it could not be run: ${error.message}`, '')),
    );
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      const why =
        firstProblemLine(tail) ??
        (signal ? `it was stopped (${signal})` : `it exited with code ${code}`);
      reject(new ToolFailedError(name, why, tail.trim().split('\n').slice(-30).join('\n')));
    });
  });
  // A rejection is read by whoever awaits `done`; never an unhandled one meanwhile.
  done.catch(() => undefined);
  return {
    name,
    child,
    stderrTail: () => tail,
    done,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

/** Bytes a live process has read and written so far (/proc/<pid>/io), or null when it is gone. */
export function readIoCounters(pid: number | undefined): { rchar: number; wchar: number } | null {
  if (pid === undefined) return null;
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8');
    const rchar = /rchar:\s*(\d+)/.exec(text);
    const wchar = /wchar:\s*(\d+)/.exec(text);
    return { rchar: Number(rchar?.[1] ?? 0), wchar: Number(wchar?.[1] ?? 0) };
  } catch {
    return null;
  }
}

/** Waits for every tool; the first failure wins (the others are stopped), in pipeline order when several failed. */
export async function awaitTools(tools: Tool[]): Promise<void> {
  const results = await Promise.allSettled(
    tools.map((tool) =>
      tool.done.catch((error: unknown) => {
        for (const other of tools) if (other !== tool) other.stop();
        throw error;
      }),
    ),
  );
  // A tool killed because another failed is not the reason: prefer a failure that was not a stop.
  const failures = results.flatMap((result) =>
    result.status === 'rejected' ? [result.reason as Error] : [],
  );
  const real = failures.find(
    (error) =>
      !(
        error instanceof ToolFailedError &&
        /stopped \(SIGTERM\)|SIGPIPE|Broken pipe/.test(error.reason)
      ),
  );
  if (real ?? failures[0]) throw real ?? failures[0];
}
