/**
 * The `beforeAll` and `afterAll` of the test runner (vitest's), passed in: this package imports
 * Node built-ins only.
 */
export interface SuiteHooks {
  beforeAll: (fn: () => Promise<void>) => void;
  afterAll: (fn: () => Promise<void>) => void;
}

/**
 * A value a test file makes in `beforeAll` and disposes of in `afterAll`, usable at once as if
 * it were there (a proxy that reads the made value; methods are bound to it). Vitest runs
 * `afterAll` hooks in reverse order, so what a file sets up after this is gone before it.
 */
export function madeBeforeAll<T extends object>(
  { beforeAll, afterAll }: SuiteHooks,
  make: () => Promise<T>,
  dispose: (value: T) => Promise<void>,
): T {
  let current: T | undefined;
  beforeAll(async () => {
    current = await make();
  });
  afterAll(async () => {
    if (current) await dispose(current);
  });
  return new Proxy({} as T, {
    get(_, key) {
      if (!current) throw new Error('used before beforeAll made it');
      const value = Reflect.get(current, key) as unknown;
      return typeof value === 'function' ? (value as () => unknown).bind(current) : value;
    },
  });
}
