/** The logging the client needs; a pino logger fits (the same shape as @coffer/compute's). */
export interface OpenStackLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: OpenStackLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
