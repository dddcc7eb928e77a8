import { describeError } from '~/lib/trpc-errors';

/** What parseForm uses of a zod schema. */
interface FormSchema<T> {
  safeParse(
    input: unknown,
  ):
    | { success: true; data: T }
    | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

/** The first message per field of a zod error, by top-level field name. */
export function issuesByField(
  issues: { path: PropertyKey[]; message: string }[],
): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of issues) errors[String(issue.path[0] ?? '_')] ??= issue.message;
  return errors;
}

/** The first message per field of the API's field errors, by top-level field name. */
export function firstOf(fieldErrors: Record<string, string[]>): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const [key, messages] of Object.entries(fieldErrors))
    if (messages[0]) errors[key.split('.')[0]!] ??= messages[0];
  return errors;
}

/** A form's input checked by `schema`: its data, or null after `onInvalid` got the first message per field. */
export function parseForm<T>(
  schema: FormSchema<T>,
  input: unknown,
  onInvalid: (errors: Record<string, string>) => void,
): T | null {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  onInvalid(issuesByField(parsed.error.issues));
  return null;
}

/** The message a form shows for a failed mutation, unless its fields show the errors. */
export function formErrorOf(error: unknown, hasFieldErrors: boolean): string | null {
  return error && !hasFieldErrors ? describeError(error).message : null;
}
