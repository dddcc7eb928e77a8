import { type Connection } from 'mysql2/promise';
import { z } from 'zod';

import { RequestRefusedError, TenantFacingError } from '../../../errors';
import { connectOverSocket, ensureAdminCredentials, isAccessDenied } from '../admin-connection';
import { ensureAdminAccount } from '../sql';
import { describeError } from './describe-failure';
import { type MariadbRuntime } from './runtime';
import { type ServerState } from './server-state';

/** Connections to the server as the guest's own account, for every part of the manager. */
export class AdminSession {
  constructor(
    private readonly runtime: MariadbRuntime,
    private readonly state: ServerState,
  ) {}

  /**
   * A connection as the guest's own account. When the account is missing or its password
   * does not match (first prepare, or a lost credentials file), it is (re)made through the
   * unix_socket account of the OS user the guest runs as.
   */
  async connect(): Promise<Connection> {
    const { layout } = this.runtime;
    const { credentials, isNew } = ensureAdminCredentials(layout);
    if (!isNew) {
      try {
        return await connectOverSocket(layout, credentials.user, credentials.password);
      } catch (error) {
        if (!isAccessDenied(error)) throw error;
      }
    }
    const bootstrapUser = this.runtime.serverAccount().bootstrapUser;
    const bootstrap = await connectOverSocket(layout, bootstrapUser);
    try {
      await ensureAdminAccount(bootstrap, credentials);
      this.runtime.logger.info({ bootstrapUser }, 'created the guest admin account');
    } finally {
      await bootstrap.end().catch(() => undefined);
    }
    return connectOverSocket(layout, credentials.user, credentials.password);
  }

  /**
   * Runs SQL administration on a connection as the guest's account, once the server is
   * prepared. A refusal (RequestRefusedError) passes through as it is; anything else says
   * what failed, in words the tenant can read.
   */
  async run<T>(description: string, run: (connection: Connection) => Promise<T>): Promise<T> {
    if (!this.state.isPrepared) {
      throw new TenantFacingError(
        `${description} failed: the database server has not been prepared yet.`,
      );
    }
    let connection: Connection;
    try {
      connection = await this.connect();
    } catch (error) {
      throw new TenantFacingError(
        `${description} failed: the database server does not answer (${describeError(error)}).`,
        undefined,
        {
          cause: error,
        },
      );
    }
    try {
      return await run(connection);
    } catch (error) {
      if (error instanceof RequestRefusedError) throw error;
      if (error instanceof z.ZodError) {
        throw new RequestRefusedError({ code: 'BAD_REQUEST', message: describeError(error) });
      }
      throw new TenantFacingError(`${description} failed: ${describeError(error)}`, undefined, {
        cause: error,
      });
    } finally {
      await connection.end().catch(() => undefined);
    }
  }
}
