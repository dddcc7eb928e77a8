import * as React from 'react';

import { Button } from './button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from './card';
import { FormError } from './field';

/**
 * A form in a card under its title: the fields, the form's error and the submit button;
 * `stack` puts the fields one under another (a full-width button), `inline` side by side.
 */
export function CardForm({
  title,
  description,
  onSubmit,
  error,
  submitLabel,
  isPending,
  layout = 'stack',
  className,
  children,
}: {
  title: string;
  description?: React.ReactNode;
  onSubmit: () => void;
  /** The form's error (not a field's). */
  error?: string | null;
  submitLabel: string;
  isPending: boolean;
  layout?: 'stack' | 'inline';
  className?: string;
  children: React.ReactNode;
}) {
  const isInline = layout === 'inline';
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
