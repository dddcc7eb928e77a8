import { type GuestAgentConfig, type GuestInfo } from '@coffer/contracts';
import { type Logger } from 'pino';

import { type ManagerEvents } from '../../datastore-manager';
import { pingAsAdmin, readAdminCredentials } from '../admin-connection';
import { type MariadbBinaries } from '../binaries';
import { layoutOf, type MariadbLayout } from '../layout';
import { pingServer } from '../ping';
import { chooseServerAccount, type ServerAccount } from '../server-account';
import { MariadbServer } from '../server-process';
import { type RestartPolicy } from '../server-supervisor';

export interface MariadbManagerOptions {
  configDir: string;
  info: GuestInfo;
  config: GuestAgentConfig;
  findBinaries: () => MariadbBinaries;
  /** PATH for the server's tools. */
  path: string;
  /** Where datadir templates are kept (env.ts' TEMPLATE_DIR_VAR); none: installs run the installer. */
  templateDir?: string;
  /** An install of the datadir already under way since the guest started (see boot/early-install.ts). */
  earlyInstall?: Promise<void> | null;
  logger: Logger;
  events: ManagerEvents;
  /** How long a ping may take before the server counts as not answering. */
  pingTimeoutMs: number;
  /** How long a live server may go without answering before it counts as CRASHED. */
  unresponsiveGraceMs: number;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
  /** Runs work that changes the server under the agent's lock (the supervisor's restarts). */
  runExclusive?: <T>(task: () => Promise<T>) => Promise<T>;
  /** How often the supervisor looks at the server process (default 1 s). */
  supervisePollMs?: number;
  /** The crash-loop bound (default: 5 restarts in 10 minutes, 1 s, 2 s, 4 s… apart). */
  restartPolicy?: RestartPolicy;
}

/**
 * What every part of the mariadb manager works with: its options, the server's files and
 * process, and the OS account the server runs as.
 */
export class MariadbRuntime {
  readonly layout: MariadbLayout;
  readonly server: MariadbServer;
  readonly logger: Logger;
  readonly events: ManagerEvents;
  private account: ServerAccount | null = null;

  constructor(readonly options: MariadbManagerOptions) {
    this.logger = options.logger;
    this.events = options.events;
    this.layout = layoutOf(options.configDir, options.config.datastore);
    this.server = new MariadbServer({
      layout: this.layout,
      findBinaries: options.findBinaries,
      path: options.path,
      logger: options.logger,
      ping: (timeoutMs) => {
        const credentials = readAdminCredentials(this.layout);
        return credentials
          ? pingAsAdmin(this.layout, credentials, timeoutMs)
          : pingServer(this.layout.socket, timeoutMs);
      },
      startTimeoutMs: options.startTimeoutMs,
      stopTimeoutMs: options.stopTimeoutMs,
      templateDir: options.templateDir,
    });
  }

  /** Chosen on first use (it looks at the volume's owners), then kept. */
  serverAccount(): ServerAccount {
    this.account ??= chooseServerAccount(
      [this.layout.volumeDir, this.layout.runDir, this.layout.logDir],
      (message) => this.logger.warn(message),
    );
    return this.account;
  }
}
