import * as React from 'react';

import { Button } from './button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from './card';
import { FormError } from './field';
import { formErrorOf } from './form-errors';

/**
 * A form in a card under its title: the fields, the form's error and the submit button;
 * `stack` puts the fields one under another (a full-width button), `inline` side by side.
 */
export function CardForm({
  title,
  description,
  onSubmit,
  submitLabel,
  layout = 'stack',
  className,
  children,
  ...state
}: {
  title: string;
  description?: React.ReactNode;
  onSubmit: () => void;
  submitLabel: string;
  layout?: 'stack' | 'inline';
  className?: string;
  children: React.ReactNode;
} & (
  | {
      /** The form's mutation: pending, and its error shown unless `fieldErrors` has one. */
      mutation: { error: unknown; isPending: boolean };
      /** The errors the fields show. */
      fieldErrors: Record<string, string | null | undefined>;
    }
  | {
      /** The form's error (not a field's). */
      error?: string | null;
      isPending: boolean;
    }
)) {
  const isInline = layout === 'inline';
  const { isPending, error } =
    'mutation' in state
      ? {
          isPending: state.mutation.isPending,
          error: formErrorOf(state.mutation.error, Object.values(state.fieldErrors).some(Boolean)),
        }
      : state;
  const formError = error ? <FormError message={error} /> : null;
  return (
    <Card className={className}>
      <CardHeader>
        <CardTitle>{title}</CardTitle>
        {description ? <CardDescription>{description}</CardDescription> : null}
      </CardHeader>
      <CardContent>
        <form
          noValidate
          className={isInline ? 'flex flex-wrap items-start gap-3' : 'space-y-4'}
          onSubmit={(event) => {
            event.preventDefault();
            onSubmit();
          }}
        >
          {children}
          {isInline ? null : formError}
          <Button type="submit" isLoading={isPending} className={isInline ? 'mt-6' : 'w-full'}>
            {submitLabel}
          </Button>
        </form>
        {isInline && formError ? <div className="mt-3">{formError}</div> : null}
      </CardContent>
    </Card>
  );
}
