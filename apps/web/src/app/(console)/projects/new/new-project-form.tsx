'use client';

import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';

import { Button } from '~/components/ui/button';
import {
  Card,
  CardContent,
  CardDescription,
  CardFooter,
  CardHeader,
  CardTitle,
} from '~/components/ui/card';
import { Field, FormError, Input } from '~/components/ui/field';
import { projectNameSchema } from '~/lib/schemas';
import { describeError } from '~/lib/trpc-errors';
import { useTRPC } from '~/trpc/react';

export function NewProjectForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const [name, setName] = useState('');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const create = useMutation(
    trpc.project.create.mutationOptions({
      onSuccess: (project) => {
        router.push(`/p/${project.id}/instances`);
        router.refresh();
      },
      onError: (error) => setFieldError(describeError(error).fieldErrors.name?.[0] ?? null),
    }),
  );

  return (
    <form
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        const parsed = projectNameSchema.safeParse(name);
        if (!parsed.success) {
          setFieldError(parsed.error.issues[0]?.message ?? 'Invalid name');
          return;
        }
        setFieldError(null);
        create.mutate({ name: parsed.data });
      }}
    >
      <Card>
        <CardHeader>
          <CardTitle>Create a project</CardTitle>
          <CardDescription>
            A project holds your database instances and backups. Invite teammates to it as owners,
            members or viewers.
          </CardDescription>
        </CardHeader>
        <CardContent className="space-y-4">
          {create.error && !fieldError ? (
            <FormError message={describeError(create.error).message} />
          ) : null}
          <Field
            label="Project name"
            error={fieldError}
            hint="For example: checkout, analytics, staging."
          >
            <Input
              value={name}
              onChange={(e) => setName(e.target.value)}
              autoFocus
              maxLength={200}
            />
          </Field>
        </CardContent>
        <CardFooter>
          <Button type="submit" isLoading={create.isPending}>
            Create project
          </Button>
        </CardFooter>
      </Card>
    </form>
  );
}
