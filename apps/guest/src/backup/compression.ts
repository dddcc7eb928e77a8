/**
 * The compression every backup stream gets (the manifest's `compression: 'zstd'`): the
 * strategies pipe their tool straight into zstd, so only the compressed stream reaches Node.
 */

/** zstd on every core, at the level the control plane chose (contracts: DEFAULT_BACKUP_ZSTD_LEVEL). */
export function zstdCompressArgs(level: number): string[] {
  return ['-q', `-${level}`, '-T0', '-c'];
}

/** zstd reading the compressed stream from stdin, or from `file` when given. */
export function zstdDecompressArgs(file?: string): string[] {
  return ['-q', '-d', '-c', ...(file ? [file] : [])];
}
