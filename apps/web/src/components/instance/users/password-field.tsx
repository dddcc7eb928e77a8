'use client';

import { RotateCw } from 'lucide-react';

import { Button } from '~/components/ui/button';
import { CopyButton } from '~/components/ui/copy-button';
import { Field, Input } from '~/components/ui/field';

/** A generated password, read-only: copied, or generated again. */
export function PasswordField({
  password,
  onRegenerate,
  error,
  hint = 'Generated for you. It is shown again once the user is created, then never.',
  className,
}: {
  password: string;
  onRegenerate: () => void;
  error?: string;
  hint?: string;
  className?: string;
}) {
  return (
    <Field label="Password" error={error} hint={hint} className={className}>
      <div className="flex gap-2">
        <Input readOnly value={password} className="font-mono" aria-label="Password" />
        <CopyButton value={password} label="Copy password" />
        <Button
          variant="secondary"
          size="sm"
          aria-label="Generate another password"
          onClick={onRegenerate}
        >
          <RotateCw aria-hidden="true" />
        </Button>
      </div>
    </Field>
  );
}
