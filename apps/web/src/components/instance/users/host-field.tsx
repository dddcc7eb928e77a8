'use client';

import { TextField } from '~/components/ui/field';
import { HOST_HINT } from './account';

/** The host an account connects from ("%", localhost, an address or a pattern). */
export function HostField({
  host,
  onChange,
  error,
}: {
  host: string;
  onChange: (host: string) => void;
  error?: string;
}) {
  return (
    <TextField
      label="Host"
      error={error}
      hint={HOST_HINT}
      value={host}
      onValueChange={onChange}
      inputClassName="font-mono"
      autoComplete="off"
    />
  );
}
