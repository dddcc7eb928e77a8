'use client';

import { Check, Copy } from 'lucide-react';
import { useState } from 'react';

import { Button } from './button';

/** Copies a value to the clipboard and says so. */
export function CopyButton({
  value,
  label = 'Copy',
  className,
}: {
  value: string;
  label?: string;
  className?: string;
}) {
  const [isCopied, setIsCopied] = useState(false);
  return (
    <Button
      variant="secondary"
      size="sm"
      className={className}
      aria-label={isCopied ? 'Copied' : label}
      onClick={async () => {
        await navigator.clipboard.writeText(value);
        setIsCopied(true);
        setTimeout(() => setIsCopied(false), 2000);
      }}
    >
      {isCopied ? <Check aria-hidden="true" /> : <Copy aria-hidden="true" />}
      {isCopied ? 'Copied' : label}
    </Button>
  );
}
