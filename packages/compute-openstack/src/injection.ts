import { GUEST_AGENT_CONFIG_FILE, GUEST_INFO_FILE } from '@coffer/contracts';

/**
 * The guest's two files (Trove's /etc/trove/conf.d) travel in the server's user data, as a
 * cloud-config `write_files` document, and the server gets a config drive, which carries the
 * user data (`openstack/latest/user_data`): a guest image reads them there at boot without
 * cloud-init or a metadata service, and one with cloud-init writes them itself. Nova keeps the
 * user data (an admin reads it back as `OS-EXT-SRV-ATTR:user_data`).
 */

/** Where the guest finds its files. */
export const GUEST_CONFIG_DIR = '/etc/coffer';

export interface InjectedFile {
  path: string;
  /** Octal, e.g. `0600`. */
  permissions: string;
  content: string;
}

/** Nova's bound on user data: 64 KiB once base64-encoded. */
export const MAX_USER_DATA_BYTES = 65_535;

export function guestFiles(guestInfo: object, agentConfig: object): InjectedFile[] {
  return [
    {
      path: `${GUEST_CONFIG_DIR}/${GUEST_INFO_FILE}`,
      permissions: '0644',
      content: `${JSON.stringify(guestInfo, null, 2)}\n`,
    },
    {
      path: `${GUEST_CONFIG_DIR}/${GUEST_AGENT_CONFIG_FILE}`,
      permissions: '0600',
      content: `${JSON.stringify(agentConfig, null, 2)}\n`,
    },
  ];
}

/** A cloud-config document writing `files` (contents base64: no YAML quoting to get wrong). */
export function userDataFor(files: readonly InjectedFile[]): string {
  const lines = ['#cloud-config', 'write_files:'];
  for (const file of files) {
    if (!/^\/[\w./-]+$/.test(file.path)) throw new TypeError(`unsafe path ${file.path}`);
    if (!/^0[0-7]{3}$/.test(file.permissions))
      throw new TypeError(`not octal permissions: ${file.permissions}`);
    lines.push(
      `  - path: ${file.path}`,
      `    permissions: '${file.permissions}'`,
      '    owner: root:root',
      '    encoding: b64',
      `    content: ${Buffer.from(file.content).toString('base64')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The files a `userDataFor` document writes (what a guest image's boot unit does). */
export function filesOfUserData(userData: string): InjectedFile[] {
  const files: InjectedFile[] = [];
  const entry =
    /^ {2}- path: (\S+)\n {4}permissions: '([0-7]+)'\n {4}owner: \S+\n {4}encoding: b64\n {4}content: (\S+)$/gm;
  for (const match of userData.matchAll(entry))
    files.push({
      path: match[1]!,
      permissions: match[2]!,
      content: Buffer.from(match[3]!, 'base64').toString('utf8'),
    });
  return files;
}
