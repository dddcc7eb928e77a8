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
