'use client';

import { useState } from 'react';

import { Field, Select, TextField } from '~/components/ui/field';
import { emailSchema, PROJECT_ROLES, ROLE_LABELS } from '~/lib/schemas';
import { describeError } from '~/lib/trpc-errors';

export type Role = (typeof PROJECT_ROLES)[number];

/** The email and role a member form sends, and the error its email field shows. */
export function useEmailRole() {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('MEMBER');
  const [emailError, setEmailError] = useState<string | null>(null);
  return {
    email,
    setEmail,
    role,
    setRole,
    emailError,
    /** The checked email and the role, or null after the field shows why it is not an email. */
    check(): { email: string; role: Role } | null {
      const parsed = emailSchema.safeParse(email);
      setEmailError(parsed.success ? null : (parsed.error.issues[0]?.message ?? 'Invalid email'));
      return parsed.success ? { email: parsed.data, role } : null;
    },
    /** A failed mutation's message about the email, under the field (none when it says nothing of it). */
    showApiError(error: unknown) {
      setEmailError(describeError(error).fieldErrors.email?.[0] ?? null);
    },
  };
}

/** The email and role fields of a member form; the labels tell one form from the other. */
export function EmailRoleFields({
  state,
  emailLabel,
  roleLabel,
  emailClassName,
  roleClassName,
}: {
  state: ReturnType<typeof useEmailRole>;
  emailLabel: string;
  roleLabel: string;
  emailClassName: string;
  roleClassName: string;
}) {
  return (
    <>
      <TextField
        label={emailLabel}
        error={state.emailError}
        className={emailClassName}
        type="email"
        value={state.email}
        onValueChange={state.setEmail}
        placeholder="teammate@example.com"
      />
      <Field label={roleLabel} className={roleClassName}>
        <Select value={state.role} onChange={(e) => state.setRole(e.target.value as Role)}>
          {PROJECT_ROLES.map((r) => (
            <option key={r} value={r}>
              {ROLE_LABELS[r]}
            </option>
          ))}
        </Select>
      </Field>
    </>
  );
}
