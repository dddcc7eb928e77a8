'use client';

import * as React from 'react';

import { Button } from './button';
import { Dialog, DialogActions } from './dialog';
import { FormError } from './field';

/**
 * A dialog holding a form: its fields, the form's error, then Cancel and the submit button.
 * `onSubmit` runs on submit (the page does not reload).
 */
export function FormDialog({
  open = true,
  onClose,
  title,
  description,
  onSubmit,
  noValidate,
  error,
  submitLabel,
  isPending,
  isSubmitDisabled,
  children,
}: {
  open?: boolean;
  onClose: () => void;
  title: string;
  description?: React.ReactNode;
  onSubmit: () => void;
  noValidate?: boolean;
  /** The form's error (not a field's), shown above the buttons. */
  error?: string | null;
  submitLabel: React.ReactNode;
  isPending: boolean;
  isSubmitDisabled?: boolean;
  children: React.ReactNode;
}) {
  return (
    <Dialog open={open} onClose={onClose} title={title} description={description}>
      <form
        noValidate={noValidate}
        className="space-y-4"
        onSubmit={(event) => {
          event.preventDefault();
          onSubmit();
        }}
      >
        {children}
        {error ? <FormError message={error} /> : null}
        <DialogActions onCancel={onClose} isPending={isPending}>
          <Button type="submit" isLoading={isPending} disabled={isSubmitDisabled}>
            {submitLabel}
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}
