'use client';

import { useEffect, useState } from 'react';

import { Button } from '~/components/ui/button';
import { Field, Input, Select } from '~/components/ui/field';
import { AUDIT_ACTION_LABELS } from '~/lib/audit-labels';

/** The audit log's filters as the API takes them (applied on the server). */
export interface AuditFilterValues {
  actor?: string;
  action?: string;
  resource?: string;
  outcome?: 'succeeded' | 'failed';
  from?: Date;
  to?: Date;
}

const TEXT_DELAY_MS = 300;
const ACTIONS = Object.entries(AUDIT_ACTION_LABELS).sort(([, a], [, b]) => a.localeCompare(b));

interface Draft {
  actor: string;
  action: string;
  resource: string;
  outcome: '' | 'succeeded' | 'failed';
  from: string;
  to: string;
}
const EMPTY: Draft = { actor: '', action: '', resource: '', outcome: '', from: '', to: '' };

function toFilter(draft: Draft): AuditFilterValues {
  const date = (value: string) => (value ? new Date(value) : undefined);
  return {
    actor: draft.actor.trim() || undefined,
    action: draft.action || undefined,
    resource: draft.resource.trim() || undefined,
    outcome: draft.outcome || undefined,
    from: date(draft.from),
    to: date(draft.to),
  };
}

/**
 * Who, what, on which resource, outcome and a time range. Text is applied once typing pauses;
 * choices at once. `onChange` gets the filters the server should apply.
 */
export function AuditFilters({ onChange }: { onChange: (filter: AuditFilterValues) => void }) {
  const [draft, setDraft] = useState<Draft>(EMPTY);
  useEffect(() => {
    const timer = setTimeout(() => onChange(toFilter(draft)), TEXT_DELAY_MS);
    return () => clearTimeout(timer);
  }, [draft, onChange]);
  const set = (key: keyof Draft) => (event: { target: { value: string } }) =>
    setDraft((current) => ({ ...current, [key]: event.target.value }));

  return (
    <div
      role="search"
      aria-label="Audit log filters"
      className="mb-3 flex flex-wrap items-end gap-3"
    >
      <Field label="Actor" className="w-52">
        <Input
          type="search"
          placeholder="Email or API token name"
          value={draft.actor}
          onChange={set('actor')}
        />
      </Field>
      <Field label="Action" className="w-60">
        <Select value={draft.action} onChange={set('action')}>
          <option value="">Any action</option>
          {ACTIONS.map(([path, label]) => (
            <option key={path} value={path}>
              {label}
            </option>
          ))}
        </Select>
      </Field>
      <Field label="Resource" className="w-52">
        <Input
          type="search"
          placeholder="Name or id"
          value={draft.resource}
          onChange={set('resource')}
        />
      </Field>
      <Field label="Outcome" className="w-36">
        <Select value={draft.outcome} onChange={set('outcome')}>
          <option value="">Any outcome</option>
          <option value="succeeded">Succeeded</option>
          <option value="failed">Failed</option>
        </Select>
      </Field>
      <Field label="From" className="w-52">
        <Input type="datetime-local" step={1} value={draft.from} onChange={set('from')} />
      </Field>
      <Field label="To" className="w-52">
        <Input type="datetime-local" step={1} value={draft.to} onChange={set('to')} />
      </Field>
      <Button variant="ghost" size="sm" onClick={() => setDraft(EMPTY)}>
        Clear filters
      </Button>
    </div>
  );
}

/** True when any filter is set. */
export function hasAuditFilter(filter: AuditFilterValues): boolean {
  return Object.values(filter).some((value) => value !== undefined);
}
