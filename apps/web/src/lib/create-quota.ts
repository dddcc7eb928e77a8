/** A quota as the console reads it (quota.get): -1 is unlimited. */
export interface QuotaUse {
  inUse: number;
  limit: number;
}

/**
 * Why a create of one instance with this volume would be refused by the project's quotas, or
 * null: the console disables Create with it before the form is sent (the server checks again,
 * under the project's lock, and stays the rule).
 */
export function createQuotaRefusal(
  quotas: { instances: QuotaUse; volumeGb: QuotaUse },
  volumeSizeGb: number,
): string | null {
  const { instances, volumeGb } = quotas;
  if (instances.limit >= 0 && instances.inUse + 1 > instances.limit) {
    return `This project has ${instances.inUse} of its ${instances.limit} instances: delete one, or ask an operator to raise the quota`;
  }
  if (volumeGb.limit >= 0 && volumeGb.inUse + volumeSizeGb > volumeGb.limit) {
    const left = Math.max(0, volumeGb.limit - volumeGb.inUse);
    return `This project's volumes use ${volumeGb.inUse} of its ${volumeGb.limit} GB: at most ${left} GB is left for this instance`;
  }
  return null;
}
