'use client';

import * as React from 'react';

import { describeError } from '~/lib/trpc-errors';
import { ConfirmDialog } from './dialog';

/** What MutationConfirmDialog uses of a useMutation result. */
export interface ConfirmedMutation<V> {
  mutate: (variables: V, options?: { onSuccess?: () => void }) => void;
  reset: () => void;
  isPending: boolean;
  error: unknown;
}

type Text<T> = React.ReactNode | ((target: T) => React.ReactNode);

/**
 * Asks before running `mutation` on `target` (open while there is one): closing resets the
 * mutation, its error is shown in the dialog, and a success closes it.
 */
export function MutationConfirmDialog<T, V>({
  target,
  onClose,
  mutation,
  variables,
  title,
  description,
  ...props
}: {
  target: T | null;
  onClose: () => void;
  mutation: ConfirmedMutation<V>;
  /** The mutation's input for the target. */
  variables: (target: T) => V;
  title: string | ((target: T) => string);
  description: Text<T>;
  confirmLabel: string;
  tone?: 'danger' | 'primary';
}) {
  const textOf = <R,>(text: R | ((target: T) => R), empty: R): R =>
    typeof text === 'function'
      ? target === null
        ? empty
        : (text as (target: T) => R)(target)
      : text;
  return (
    <ConfirmDialog
      {...props}
      open={target !== null}
      onClose={() => {
        onClose();
        mutation.reset();
      }}
      title={textOf(title, '')}
      description={textOf(description, '')}
      isPending={mutation.isPending}
      error={mutation.error ? describeError(mutation.error).message : null}
      onConfirm={() => {
        if (target !== null) mutation.mutate(variables(target), { onSuccess: onClose });
      }}
    />
  );
}
