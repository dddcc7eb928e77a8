import * as React from 'react';

import { cn } from '~/lib/utils';

const controlClass =
  'block w-full rounded-md border border-zinc-300 bg-white px-3 py-2 text-sm text-zinc-900 shadow-sm placeholder:text-zinc-400 focus:border-accent-500 focus:outline-none focus:ring-2 focus:ring-accent-200 disabled:bg-zinc-100 aria-[invalid=true]:border-red-500 aria-[invalid=true]:ring-red-100';

/** Input types whose value is text the user types (their `defaultValue` is the rendered value). */
const TYPED = new Set(['text', 'search', 'email', 'password', 'number', 'url', 'tel']);

/**
 * A text box. What was typed into it before the page hydrated is kept: React leaves that text
 * in the box while it hydrates, then resets the box to its state's value at the next render,
 * so at mount the box's `onChange` is handed it. React renders the state's value as the box's
 * default value: a box whose value differs from it at mount holds typed text.
 */
export function Input({ className, ref, onChange, ...props }: React.ComponentProps<'input'>) {
  const latest = React.useRef(onChange);
  React.useEffect(() => {
    latest.current = onChange;
  });
  const attach = React.useCallback(
    (box: HTMLInputElement | null) => {
      if (typeof ref === 'function') ref(box);
      else if (ref) ref.current = box;
      if (box && TYPED.has(box.type) && box.value !== box.defaultValue)
        latest.current?.({
          target: box,
          currentTarget: box,
        } as React.ChangeEvent<HTMLInputElement>);
    },
    [ref],
  );
  return (
    <input
      ref={attach}
      className={cn(controlClass, 'h-9', className)}
      onChange={onChange}
      {...props}
    />
  );
}

export function Select({ className, ...props }: React.SelectHTMLAttributes<HTMLSelectElement>) {
  return <select className={cn(controlClass, 'h-9 pr-8', className)} {...props} />;
}

export function Label({ className, ...props }: React.LabelHTMLAttributes<HTMLLabelElement>) {
  return <label className={cn('block text-sm font-medium text-zinc-800', className)} {...props} />;
}

/**
 * A labelled form control with its hint and error. The control gets the id, aria-invalid and
 * aria-describedby, so screen readers and role-based tests find the error.
 */
export function Field({
  label,
  hint,
  error,
  children,
  className,
}: {
  label: string;
  hint?: React.ReactNode;
  error?: string | null;
  children: React.ReactElement<{
    id?: string;
    'aria-invalid'?: boolean;
    'aria-describedby'?: string;
  }>;
  className?: string;
}) {
  const id = React.useId();
  const describedBy = error ? `${id}-error` : hint ? `${id}-hint` : undefined;
  const control = React.cloneElement(children, {
    id,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': describedBy,
  });
  return (
    <div className={cn('space-y-1.5', className)}>
      <Label htmlFor={id}>{label}</Label>
      {control}
      {error ? (
        <p id={`${id}-error`} className="text-sm text-red-600" role="alert">
          {error}
        </p>
      ) : hint ? (
        <p id={`${id}-hint`} className="text-xs text-zinc-500">
          {hint}
        </p>
      ) : null}
    </div>
  );
}

export function FormError({ message }: { message?: string | null }) {
  if (!message) return null;
  return (
    <div
      role="alert"
      className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-700"
    >
      {message}
    </div>
  );
}

/** A labelled text input (a Field around an Input): `onValueChange` gets the text. */
export function TextField({
  label,
  hint,
  error,
  className,
  inputClassName,
  onValueChange,
  ...input
}: Omit<React.InputHTMLAttributes<HTMLInputElement>, 'onChange' | 'className'> & {
  label: string;
  hint?: React.ReactNode;
  error?: string | null;
  /** The Field's classes; `inputClassName` are the Input's. */
  className?: string;
  inputClassName?: string;
  onValueChange: (value: string) => void;
}) {
  return (
    <Field label={label} hint={hint} error={error} className={className}>
      <Input
        className={inputClassName}
        onChange={(event) => onValueChange(event.target.value)}
        {...input}
      />
    </Field>
  );
}

/** A checkbox with its label text after it. */
export function Checkbox({
  checked,
  onCheckedChange,
  children,
  className,
  inputClassName = 'size-4 rounded border-zinc-300 accent-accent-600',
}: {
  checked: boolean;
  onCheckedChange: (checked: boolean) => void;
  children: React.ReactNode;
  className?: string;
  inputClassName?: string;
}) {
  return (
    <label className={cn('flex items-center gap-2 text-sm text-zinc-700', className)}>
      <input
        type="checkbox"
        className={inputClassName}
        checked={checked}
        onChange={(event) => onCheckedChange(event.target.checked)}
      />
      {children}
    </label>
  );
}
