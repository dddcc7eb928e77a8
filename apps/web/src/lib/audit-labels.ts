/**
 * The audit log in people's words (shared by the console and its filters): what each recorded
 * procedure did, and what its result means. A procedure not listed here (a new one) reads as
 * its words split ("instance.fooBar" → "Instance foo bar"), never as nothing.
 */
export const AUDIT_ACTION_LABELS: Record<string, string> = {
  'project.create': 'Project created',
  'project.addMember': 'Member added',
  'project.changeMemberRole': 'Member role changed',
  'project.removeMember': 'Member removed',
  'invitation.create': 'Member invited',
  'invitation.revoke': 'Invitation revoked',
  'invitation.accept': 'Invitation accepted',
  'auth.requestPasswordReset': 'Password reset requested',
  'auth.resetPassword': 'Password reset',
  'apiToken.create': 'API token created',
  'apiToken.revoke': 'API token revoked',
  'instance.create': 'Instance created',
  'instance.delete': 'Instance deleted',
  'instance.restart': 'Instance restarted',
  'instance.rename': 'Instance renamed',
  'instance.resizeFlavor': 'Instance flavor resized',
  'instance.resizeVolume': 'Instance volume grown',
  'instance.setAccess': 'Allowed sources changed',
  'database.create': 'Database created',
  'database.delete': 'Database deleted',
  'databaseUser.create': 'Database user created',
  'databaseUser.update': 'Database user changed',
  'databaseUser.delete': 'Database user deleted',
  'databaseUser.grantAccess': 'Database access granted',
  'databaseUser.revokeAccess': 'Database access revoked',
  'rootAccess.enable': 'Root enabled',
  'rootAccess.disable': 'Root disabled',
  'backup.create': 'Backup started',
  'backup.delete': 'Backup deleted',
  'backup.setSchedule': 'Backup schedule set',
  'backup.deleteSchedule': 'Backup schedule removed',
  'replica.create': 'Replicas created',
  'replica.promote': 'Replica promoted',
  'replica.eject': 'Source ejected',
  'replica.detach': 'Replica detached',
  'configuration.create': 'Configuration group created',
  'configuration.createFromInstance': 'Configuration group created from an instance',
  'configuration.update': 'Configuration group changed',
  'configuration.delete': 'Configuration group deleted',
  'configuration.attach': 'Configuration group attached',
  'configuration.detach': 'Configuration group detached',
  'log.enable': 'Database log enabled',
  'log.disable': 'Database log disabled',
  'log.publish': 'Database log published',
  'log.setCap': 'Database log cap set',
  'admin.resetStatus': 'Instance status reset (operator)',
  'admin.forceDelete': 'Instance force-deleted (operator)',
  'admin.retryJob': 'Failed job retried (operator)',
  'admin.discardJob': 'Failed job discarded (operator)',
  'admin.setQuota': 'Quota changed (operator)',
  'admin.createFlavor': 'Flavor created (operator)',
  'admin.updateFlavor': 'Flavor changed (operator)',
};

/** "instance.resizeVolume" → "Instance volume grown"; an unknown one → its words. */
export function auditActionLabel(path: string): string {
  const known = AUDIT_ACTION_LABELS[path];
  if (known) return known;
  const words = path
    .replace(/\./g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The result codes (tRPC's) and Coffer's own error codes, as a reader understands them. */
const OUTCOME_LABELS: Record<string, { label: string; reason: string }> = {
  BAD_REQUEST: { label: 'Rejected', reason: 'invalid input' },
  UNAUTHORIZED: { label: 'Rejected', reason: 'not signed in' },
  FORBIDDEN: { label: 'Denied', reason: 'not allowed' },
  NOT_FOUND: { label: 'Failed', reason: 'not found' },
  CONFLICT: { label: 'Failed', reason: 'conflicts with the current state' },
  QUOTA_EXCEEDED: { label: 'Refused', reason: 'over quota' },
  RATE_LIMITED: { label: 'Refused', reason: 'too many requests' },
  TOO_MANY_REQUESTS: { label: 'Refused', reason: 'too many requests' },
  PAYLOAD_TOO_LARGE: { label: 'Rejected', reason: 'too large' },
  UNAVAILABLE: { label: 'Failed', reason: 'service unavailable' },
  SERVICE_UNAVAILABLE: { label: 'Failed', reason: 'service unavailable' },
  TIMEOUT: { label: 'Failed', reason: 'timed out' },
  INTERNAL: { label: 'Failed', reason: 'internal error' },
  INTERNAL_SERVER_ERROR: { label: 'Failed', reason: 'internal error' },
};

export interface AuditOutcome {
  isSuccess: boolean;
  /** "Succeeded", "Failed", "Denied", "Rejected" or "Refused". */
  label: string;
  /** Why, in words ("conflicts with the current state"); null on success. */
  reason: string | null;
  /** The raw code, for those who search for it. */
  code: string;
}

export function auditOutcome(result: string, errorCode: string | null): AuditOutcome {
  if (result === 'OK') return { isSuccess: true, label: 'Succeeded', reason: null, code: 'OK' };
  const code = errorCode ?? result;
  const known = OUTCOME_LABELS[code] ?? OUTCOME_LABELS[result];
  return {
    isSuccess: false,
    label: known?.label ?? 'Failed',
    reason: known?.reason ?? code,
    code,
  };
}

/** The outcome filter of the audit log. */
export const AUDIT_OUTCOMES = ['succeeded', 'failed'] as const;
