import { availableParallelism, loadavg } from 'node:os';

import { expect, type Page } from '@playwright/test';

/**
 * Records what every open view of the console shows, as it changes: each instance's status
 * (and replication state) in a detail page's header, in the instance list, in a source's
 * Replication tab and in the admin view, and each backup's status in an instance's Backups
 * tab and in the project's Backups page. The time of each change is taken in the page, when
 * the DOM changes, so two views can be compared to the millisecond.
 *
 * A view is a page and a place in it (`header`, `row`); what it shows is a datum
 * (`<instance or backup id>:status` or `:replication`). Views of one datum must agree.
 */

export interface ViewChange {
  /** Milliseconds since the epoch, in the page. */
  at: number;
  page: string;
  /** `header:<id>:status`, `row:<id>:replication`, … */
  view: string;
  /** What it shows; null when it is no longer on the page. */
  value: string | null;
}

/** Runs in the page: reports every change of every status badge through `__cofferViewChanged`. */
function installRecorder() {
  // The e2e package has no DOM lib: the few browser types used here.
  interface BrowserElement {
    getAttribute(name: string): string | null;
    hasAttribute(name: string): boolean;
    closest(selector: string): BrowserElement | null;
  }
  const browser = globalThis as unknown as {
    __cofferRecorder?: boolean;
    __cofferViewChanged(change: { at: number; view: string; value: string | null }): void;
    location: { pathname: string };
    document: { querySelectorAll(selector: string): Iterable<BrowserElement> };
    MutationObserver: new (callback: () => void) => {
      observe(target: unknown, options: Record<string, unknown>): void;
    };
  };
  if (browser.__cofferRecorder) return;
  browser.__cofferRecorder = true;
  const shown = new Map<string, string | null>();
  const scan = () => {
    const now = Date.now();
    const present = new Set<string>();
    for (const element of browser.document.querySelectorAll(
      '[data-status], [data-replication-state]',
    )) {
      const attribute = element.hasAttribute('data-status')
        ? 'data-status'
        : 'data-replication-state';
      const datum = attribute === 'data-status' ? 'status' : 'replication';
      const row = element.closest('tr');
      let view: string;
      if (row) {
        const id =
          row.getAttribute('data-instance-id') ??
          row.getAttribute('data-replica-id') ??
          row.getAttribute('data-backup-id');
        if (!id) continue;
        view = `row:${id}:${datum}`;
      } else if (element.closest('h1, h2')) {
        const match = /\/instances\/([0-9a-f-]{36})/.exec(browser.location.pathname);
        if (!match) continue;
        view = `header:${match[1]}:${datum}`;
      } else {
        continue;
      }
      present.add(view);
      const value = element.getAttribute(attribute);
      if (shown.get(view) !== value) {
        shown.set(view, value);
        browser.__cofferViewChanged({ at: now, view, value });
      }
    }
    for (const [view, value] of shown) {
      if (!present.has(view) && value !== null) {
        shown.set(view, null);
        browser.__cofferViewChanged({ at: now, view, value: null });
      }
    }
  };
  new browser.MutationObserver(scan).observe(browser.document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ['data-status', 'data-replication-state'],
  });
  scan();
}

/**
 * 3 s, times how oversubscribed the machine's CPUs were over the last minute (these machines
 * are shared: a load of 30 on 2 cores was seen while CI ran beside other work), at most 20 s.
 */
export function loadAllowanceMs(): number {
  const oversubscribed = loadavg()[0]! / availableParallelism();
  return Math.round(Math.min(20_000, 3000 * Math.max(1, oversubscribed)));
}

function datumOf(view: string): string {
  return view.slice(view.indexOf(':') + 1);
}

export class ViewRecorder {
  readonly changes: ViewChange[] = [];
  /** The console's API requests of the watched pages (start and end), for failure messages. */
  readonly requests: Array<{ at: number; page: string; text: string }> = [];
  /** How long each of those took to answer (start, milliseconds). */
  readonly reads: Array<{ at: number; ms: number }> = [];

  /** Records `page` (under `name`) from now on, across its navigations. */
  async watch(page: Page, name: string): Promise<void> {
    await page.exposeBinding('__cofferViewChanged', (_source, change: Omit<ViewChange, 'page'>) => {
      this.changes.push({ ...change, page: name });
    });
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/api/trpc/'))
        this.requests.push({ at: Date.now(), page: name, text: `→ ${url.pathname.slice(10, 90)}` });
    });
    page.on('requestfinished', (request) => {
      const url = new URL(request.url());
      if (!url.pathname.startsWith('/api/trpc/') || url.pathname.includes('onProjectChange'))
        return;
      const { startTime, responseEnd } = request.timing();
      this.reads.push({ at: startTime, ms: Math.round(responseEnd) });
      this.requests.push({ at: Date.now(), page: name, text: `← ${url.pathname.slice(10, 90)}` });
    });
    await page.addInitScript(installRecorder);
    await page.evaluate(installRecorder);
  }

  /** What each view of `datum` (`<id>:status`) shows now, by `<page> <view>`; views gone from their page are left out. */
  showing(datum: string): Record<string, string> {
    const now: Record<string, string | null> = {};
    for (const change of this.changes) {
      if (datumOf(change.view) === datum)
        now[`${change.page} ${change.view.split(':')[0]}`] = change.value;
    }
    return Object.fromEntries(
      Object.entries(now).filter((entry): entry is [string, string] => entry[1] !== null),
    );
  }

  /**
   * Waits until the views named (`<page> <header|row>`) all show `value` for `datum`, then
   * checks that no two views of it disagreed for longer than `withinMs` since `since`, beyond
   * the time the console's API took to answer the views' reads then (no view can show a change
   * before its read of it is answered; on a loaded machine one read alone can take seconds).
   *
   * `withinMs` is what a page may take beyond that to hear of the change and start its read:
   * 3 s on an idle machine (on a loaded 2-core machine Chromium's renderer alone was seen taking
   * 2.4 s to act on an event), stretched by the machine's load (`loadAllowanceMs`) and never
   * past 20 s. Still below what a view that missed the event would show: instance views never
   * poll, their data goes stale only after 30 s, so a missed event fails this check.
   */
  async expectAgreement(
    datum: string,
    views: string[],
    value: string,
    {
      since,
      timeout,
      withinMs = loadAllowanceMs(),
    }: { since: number; timeout: number; withinMs?: number },
  ): Promise<void> {
    const expected = Object.fromEntries(views.map((view) => [view, value]));
    await expect
      .poll(
        () => {
          const showing = this.showing(datum);
          return Object.fromEntries(views.map((view) => [view, showing[view] ?? '(not shown)']));
        },
        { timeout, message: `every view of ${datum} shows ${value}` },
      )
      .toEqual(expected);
    const longest = this.longestDisagreement(datum, since);
    const slowestRead = this.slowestRead(longest.from - 5000, longest.from + longest.ms);
    expect(
      longest.ms,
      `views of ${datum} disagreed for ${longest.ms} ms (the slowest read then took ${slowestRead} ms) from ${new Date(longest.from).toISOString()}: ${longest.detail}\n${this.describe(datum, longest.from)}`,
    ).toBeLessThanOrEqual(withinMs + slowestRead);
  }

  /** The longest any watched page's API request started between `from` and `to` took to answer. */
  slowestRead(from: number, to: number): number {
    return Math.max(
      0,
      ...this.reads.filter((read) => read.at >= from && read.at <= to).map((read) => read.ms),
    );
  }

  /** What each view of `datum` showed around `at`, with the console's requests then (for a failure's message). */
  describe(datum: string, at: number): string {
    const near = (time: number) => time >= at - 3000 && time <= at + 6000;
    const lines = [
      ...this.changes
        .filter((change) => datumOf(change.view) === datum && near(change.at))
        .map((change) => ({
          at: change.at,
          text: `${change.page} ${change.view.split(':')[0]} shows ${change.value}`,
        })),
      ...this.requests
        .filter((request) => near(request.at))
        .map((request) => ({ at: request.at, text: `${request.page} ${request.text}` })),
    ].sort((a, b) => a.at - b.at);
    return lines.map((line) => `  ${line.at - at} ms  ${line.text}`).join('\n');
  }

  /** The longest stretch since `since` during which the views of `datum` showed different values. */
  longestDisagreement(datum: string, since: number): { ms: number; from: number; detail: string } {
    const changes = this.changes
      .filter((change) => datumOf(change.view) === datum)
      .sort((a, b) => a.at - b.at);
    const showing = new Map<string, string | null>();
    let longest = { ms: 0, from: since, detail: 'none' };
    let disagreeingSince: number | null = null;
    let detail = '';
    const close = (at: number) => {
      if (disagreeingSince === null) return;
      const ms = at - Math.max(disagreeingSince, since);
      if (ms > longest.ms) longest = { ms, from: disagreeingSince, detail };
      disagreeingSince = null;
    };
    for (let index = 0; index < changes.length; index++) {
      const change = changes[index]!;
      showing.set(`${change.page} ${change.view.split(':')[0]}`, change.value);
      // Changes made in the same millisecond are one step.
      if (changes[index + 1]?.at === change.at) continue;
      const values = new Set([...showing.values()].filter((value) => value !== null));
      if (values.size > 1) {
        if (disagreeingSince === null) {
          disagreeingSince = change.at;
          detail = [...showing].map(([view, value]) => `${view}=${value}`).join(', ');
        }
      } else {
        close(change.at);
      }
    }
    close(Date.now());
    return longest;
  }
}
