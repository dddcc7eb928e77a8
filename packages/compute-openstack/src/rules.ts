import type { AllowedSources } from '@coffer/compute';

/**
 * The security group `SecGroup-<instanceId>`'s ingress rules for the database port, from the
 * instance's allowed sources (as the local provider's nftables table reads them): each CIDR;
 * everyone (`0.0.0.0/0` and `::/0`) for a public instance that names none; the control plane's
 * networks always. Each rule's description says why it is there, so the rules are read back
 * into allowed sources and only Coffer's own rules are ever changed.
 */

export const RULE_SOURCE = 'coffer:source';
export const RULE_OPEN = 'coffer:open';
export const RULE_CONTROL_PLANE = 'coffer:control-plane';
/** The guest's direct-stream port, open to the deployment's guests (issue 18: replicas). */
export const RULE_GUEST_STREAM = 'coffer:guest-stream';

export interface WantedRule {
  remoteIpPrefix: string;
  description: string;
}

export function wantedRules(
  sources: AllowedSources,
  controlPlaneCidrs: readonly string[],
): WantedRule[] {
  const rules: WantedRule[] = [];
  if (sources.isPublic && sources.cidrs.length === 0)
    rules.push(
      { remoteIpPrefix: '0.0.0.0/0', description: RULE_OPEN },
      { remoteIpPrefix: '::/0', description: RULE_OPEN },
    );
  for (const cidr of sources.cidrs) rules.push({ remoteIpPrefix: cidr, description: RULE_SOURCE });
  for (const cidr of controlPlaneCidrs)
    rules.push({ remoteIpPrefix: cidr, description: RULE_CONTROL_PLANE });
  return rules;
}

export interface ExistingRule {
  id: string;
  direction: string;
  remoteIpPrefix: string | null;
  portRangeMin: number | null;
  /** The security group whose members the rule lets in (instead of a CIDR). */
  remoteGroupId?: string | null;
  description: string;
}

const key = (rule: { remoteIpPrefix: string | null; description: string }) =>
  `${rule.description} ${rule.remoteIpPrefix ?? ''}`;

/** What to add and what to remove (ids) to go from `existing` to `wanted`; other rules are left alone. */
export function ruleChanges(
  existing: readonly ExistingRule[],
  wanted: readonly WantedRule[],
  port: number,
): { add: WantedRule[]; remove: string[] } {
  const ours = existing.filter(
    (rule) =>
      rule.direction === 'ingress' &&
      rule.portRangeMin === port &&
      rule.description.startsWith('coffer:'),
  );
  const have = new Set(ours.map(key));
  const want = new Set(wanted.map(key));
  return {
    add: wanted.filter((rule) => !have.has(key(rule))),
    remove: ours.filter((rule) => !want.has(key(rule))).map((rule) => rule.id),
  };
}

/** The allowed sources the rules say (the public flag is kept beside them, in the server's metadata). */
export function sourcesOfRules(
  existing: readonly ExistingRule[],
  isPublic: boolean,
): AllowedSources {
  return {
    isPublic,
    cidrs: existing
      .filter((rule) => rule.direction === 'ingress' && rule.description === RULE_SOURCE)
      .map((rule) => rule.remoteIpPrefix ?? '')
      .filter(Boolean),
  };
}

/**
 * The direct-stream rule (issue 18): ingress TCP on the guest's stream port from the members
 * of the deployment's guests group (every guest's port is in it), so a replica's guest
 * reaches its source's and nothing else does. `wanted` null: no stream port, no such rule.
 * Says whether to add it, and which of Coffer's stream rules to remove (another port or
 * group, or a duplicate); an operator's rules are left alone.
 */
export function streamRuleChanges(
  existing: readonly ExistingRule[],
  wanted: { port: number; remoteGroupId: string } | null,
): { add: boolean; remove: string[] } {
  const ours = existing.filter(
    (rule) => rule.direction === 'ingress' && rule.description === RULE_GUEST_STREAM,
  );
  const kept = wanted
    ? ours.find(
        (rule) => rule.portRangeMin === wanted.port && rule.remoteGroupId === wanted.remoteGroupId,
      )
    : undefined;
  return {
    add: wanted !== null && !kept,
    remove: ours.filter((rule) => rule !== kept).map((rule) => rule.id),
  };
}
