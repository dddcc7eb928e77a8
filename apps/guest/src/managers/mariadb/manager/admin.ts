import { type GuestResult } from '@coffer/contracts';

import { type MethodParams } from '../../datastore-manager';
import {
  createDatabase,
  createUser,
  deleteDatabase,
  deleteUser,
  disableRoot,
  enableRoot,
  grantAccess,
  listAccess,
  listDatabases,
  listUsers,
  revokeAccess,
  updateUser,
} from '../sql';
import { type AdminSession } from './admin-session';
import { type MariadbRuntime } from './runtime';
import { openUserPassword } from './sealed-passwords';

/**
 * Databases, users, access and root (Trove's MySqlAdmin behind its database and user APIs),
 * each on a connection of its own.
 */
export class MariadbAdmin {
  constructor(
    private readonly runtime: MariadbRuntime,
    private readonly session: AdminSession,
  ) {}

  async listDatabases(): Promise<GuestResult<'list_databases'>> {
    return this.session.run('Listing the databases', async (connection) => ({
      databases: await listDatabases(connection),
    }));
  }

  async createDatabase(
    params: MethodParams<'create_database'>,
  ): Promise<GuestResult<'create_database'>> {
    return this.session.run(`Creating database ${params.name}`, async (connection) => ({
      database: await createDatabase(connection, params, { mustNotExist: true }),
    }));
  }

  async deleteDatabase(
    params: MethodParams<'delete_database'>,
  ): Promise<GuestResult<'delete_database'>> {
    return this.session.run(`Deleting database ${params.name}`, async (connection) => {
      await deleteDatabase(connection, params.name);
      return {};
    });
  }

  async listUsers(): Promise<GuestResult<'list_users'>> {
    return this.session.run('Listing the users', async (connection) => ({
      users: await listUsers(connection),
    }));
  }

  async createUser(params: MethodParams<'create_user'>): Promise<GuestResult<'create_user'>> {
    const password = this.openPassword(params.password, params.name);
    return this.session.run(`Creating user ${params.name}@${params.host}`, async (connection) => ({
      user: await createUser(connection, { ...params, password }, { mustNotExist: true }),
    }));
  }

  async updateUser(params: MethodParams<'update_user'>): Promise<GuestResult<'update_user'>> {
    const newPassword =
      params.newPassword === undefined
        ? undefined
        : this.openPassword(params.newPassword, params.name);
    return this.session.run(`Changing user ${params.name}@${params.host}`, async (connection) => ({
      user: await updateUser(connection, {
        name: params.name,
        host: params.host,
        newHost: params.newHost,
        newPassword,
      }),
    }));
  }

  async deleteUser(params: MethodParams<'delete_user'>): Promise<GuestResult<'delete_user'>> {
    return this.session.run(`Deleting user ${params.name}@${params.host}`, async (connection) => {
      await deleteUser(connection, params);
      return {};
    });
  }

  async listAccess(params: MethodParams<'list_access'>): Promise<GuestResult<'list_access'>> {
    return this.session.run(
      `Listing the access of ${params.name}@${params.host}`,
      async (connection) => ({
        databases: await listAccess(connection, params),
      }),
    );
  }

  async grantAccess(params: MethodParams<'grant_access'>): Promise<GuestResult<'grant_access'>> {
    return this.session.run(
      `Granting ${params.name}@${params.host} access`,
      async (connection) => ({
        databases: await grantAccess(connection, params),
      }),
    );
  }

  async revokeAccess(params: MethodParams<'revoke_access'>): Promise<GuestResult<'revoke_access'>> {
    return this.session.run(
      `Revoking the access of ${params.name}@${params.host} to ${params.database}`,
      async (connection) => ({
        databases: await revokeAccess(connection, params),
      }),
    );
  }

  async enableRoot(params: MethodParams<'enable_root'>): Promise<GuestResult<'enable_root'>> {
    const password = this.openPassword(params.password, 'root');
    return this.session.run('Enabling root', async (connection) => {
      await enableRoot(connection, password);
      this.runtime.logger.info('root enabled for remote access');
      return {};
    });
  }

  async disableRoot(): Promise<GuestResult<'disable_root'>> {
    return this.session.run('Disabling root', async (connection) => {
      const dropped = await disableRoot(connection);
      this.runtime.logger.info({ dropped }, 'root disabled: socket only');
      return {};
    });
  }

  private openPassword(sealed: string, userName: string): string {
    return openUserPassword(this.runtime.options.config.guestSecret, sealed, userName);
  }
}
