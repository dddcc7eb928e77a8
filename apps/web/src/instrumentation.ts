/** Runs once when the server boots: a bad configuration stops it here, with a clear message. */
export async function register() {
  // eslint-disable-next-line no-restricted-properties -- Next sets this; env.ts is what it loads.
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    await import('./env');
  }
}
