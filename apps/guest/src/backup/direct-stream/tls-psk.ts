import { type ConnectionOptions, type TlsOptions } from 'node:tls';

/**
 * The TLS settings of a replica's direct stream (issue 18): TLS 1.2 with a pre-shared key
 * (TLS-PSK, AES-256-GCM): each end proves it holds the snapshot's one-time key, which the
 * control plane sealed for both guests; no certificate is involved. A peer without the key
 * fails the handshake: it never sends nor receives a byte of the backup.
 */
const CIPHERS = 'PSK-AES256-GCM-SHA384';

export function serverTlsOptions(key: Buffer, identity: string): TlsOptions {
  return {
    ciphers: CIPHERS,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
    pskCallback: (_socket, offered) => (offered === identity ? key : null),
  };
}

export function clientTlsOptions(key: Buffer, identity: string): ConnectionOptions {
  return {
    ciphers: CIPHERS,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
    pskCallback: () => ({ psk: key, identity }),
    checkServerIdentity: () => undefined,
  };
}
