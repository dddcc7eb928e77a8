'use client';

import * as React from 'react';

import { CardForm } from '~/components/ui/card-form';
import { Field, Input } from '~/components/ui/field';
import { describeError } from '~/lib/trpc-errors';
import { groupFieldErrors } from './values-text';

/** What the group form edits. */
export interface GroupFormValues {
  name: string;
  description: string;
  /** `name = value` lines. */
  valuesText: string;
}

/**
 * A configuration group's name, description and values (`name = value` lines), in a card.
 * The API checks the values against the version's catalogue: each refused value is shown
 * under the values as the API names it (the parameter and its rule), a taken name under the
 * name. `extraFields` come before the values (the datastore version of a new group).
 */
export function ConfigurationGroupForm({
  title,
  description,
  submitLabel,
  form,
  onFormChange,
  onSubmit,
  mutation,
  extraFields,
}: {
  title: string;
  description?: React.ReactNode;
  submitLabel: string;
  form: GroupFormValues;
  onFormChange: (form: GroupFormValues) => void;
  onSubmit: () => void;
  mutation: { error: unknown; isPending: boolean };
  extraFields?: React.ReactNode;
}) {
  const described = mutation.error ? describeError(mutation.error) : null;
  const errors = groupFieldErrors(described?.fieldErrors ?? {});
  const hasFieldErrors = errors.name !== null || errors.values.length > 0;
  // Not a field's: the API's message (or another field's, such as the version's).
  const formError = !described
    ? null
    : errors.others.length > 0
      ? errors.others.join('; ')
      : hasFieldErrors
        ? null
        : described.message;
  return (
    <CardForm
      title={title}
      description={description}
      submitLabel={submitLabel}
      onSubmit={onSubmit}
      isPending={mutation.isPending}
      error={formError}
    >
      <Field label="Group name" error={errors.name}>
        <Input
          value={form.name}
          autoComplete="off"
          onChange={(event) => onFormChange({ ...form, name: event.target.value })}
        />
      </Field>
      <Field label="Description">
        <Input
          value={form.description}
          onChange={(event) => onFormChange({ ...form, description: event.target.value })}
        />
      </Field>
      {extraFields}
      <Field
        label="Values"
        error={errors.values.length > 0 ? errors.values.join('; ') : null}
        hint={
          <>
            One <code>name = value</code> per line, e.g. <code>max_connections = 200</code> or{' '}
            <code>innodb_buffer_pool_size = 256M</code>. Dynamic values apply at once on every
            attached instance; the others at its next restart.
          </>
        }
      >
        <textarea
          className="min-h-40 w-full rounded-md border border-zinc-300 p-2 font-mono text-sm aria-[invalid=true]:border-red-500"
          spellCheck={false}
          value={form.valuesText}
          onChange={(event) => onFormChange({ ...form, valuesText: event.target.value })}
        />
      </Field>
    </CardForm>
  );
}
