'use client';

import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';

import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '~/components/ui/card';
import { CopyButton } from '~/components/ui/copy-button';
import { Field, Select } from '~/components/ui/field';
import {
  connectionVariants,
  PASSWORD_PLACEHOLDER,
  type ConnectionFormat,
} from '~/lib/connection-strings';
import { cn } from '~/lib/utils';
import { useTRPC } from '~/trpc/react';

/**
 * The Overview's Connect card: pick a database and a user of the instance and a format (the
 * mariadb CLI, a URI, JDBC, environment variables, Node, Python or Go), and copy it. The
 * password is never shown: a placeholder, or the snippets read `MYSQL_PASSWORD`.
 */
export function ConnectPanel({
  projectId,
  instanceId,
  status,
  host,
  port,
  initialUser,
  className,
}: {
  projectId: string;
  instanceId: string;
  status: string;
  host: string | null;
  port: number | null;
  /** The user named in the page's address (the create form's first user). */
  initialUser: string;
  className?: string;
}) {
  const trpc = useTRPC();
  // The guest answers these only while the instance is ACTIVE (same queries as the tabs').
  const canList = status === 'ACTIVE' && !!host;
  const databases = useQuery({
    ...trpc.database.list.queryOptions({ projectId, instanceId }),
    enabled: canList,
  });
  const users = useQuery({
    ...trpc.databaseUser.list.queryOptions({ projectId, instanceId }),
    enabled: canList,
  });
  const [pickedUser, setPickedUser] = useState<string | null>(null);
  const [pickedDatabase, setPickedDatabase] = useState<string | null>(null);
  const [format, setFormat] = useState<ConnectionFormat>('cli');

  const userList = users.data ?? [];
  const databaseNames = (databases.data ?? []).map((database) => database.name);
  // Until one is picked: the page's user (else the first listed) and its first database.
  const user = pickedUser ?? (initialUser || userList[0]?.name || '');
  const account = userList.find((candidate) => candidate.name === user);
  const database =
    pickedDatabase ??
    account?.databases.find((name) => databaseNames.includes(name)) ??
    databaseNames[0] ??
    '';
  const userOptions = [...new Set([...(user ? [user] : []), ...userList.map((u) => u.name)])];
  const hasNoAccess = !!account && !!database && !account.databases.includes(database);
  const variants = host && port ? connectionVariants({ host, port, user, database }) : [];
  const shown = variants.find((variant) => variant.format === format);

  return (
    <Card className={cn('min-w-0', className)}>
      <CardHeader>
        <CardTitle>Connect</CardTitle>
        <CardDescription>
          Any MySQL or MariaDB client works. Connect as a user from the Users tab (root stays
          disabled until you enable it).
        </CardDescription>
      </CardHeader>
      <CardContent className="space-y-4">
        {host && port && shown ? (
          <>
            <dl className="grid grid-cols-2 gap-3 text-sm">
              <div className="min-w-0">
                <dt className="text-zinc-500">Host</dt>
                <dd className="break-all font-mono text-zinc-900">{host}</dd>
              </div>
              <div>
                <dt className="text-zinc-500">Port</dt>
                <dd className="font-mono text-zinc-900">{port}</dd>
              </div>
            </dl>
            <div className="grid gap-3 sm:grid-cols-3">
              <Field label="Database">
                <Select value={database} onChange={(e) => setPickedDatabase(e.target.value)}>
                  {database && !databaseNames.includes(database) ? (
                    <option value={database}>{database}</option>
                  ) : null}
                  {databaseNames.map((name) => (
                    <option key={name} value={name}>
                      {name}
                    </option>
                  ))}
                  <option value="">None</option>
                </Select>
              </Field>
              <Field label="User">
                <Select value={user} onChange={(e) => setPickedUser(e.target.value)}>
                  {userOptions.length === 0 ? <option value="">No users yet</option> : null}
                  {userOptions.map((name) => (
                    <option key={name} value={name}>
                      {name}
                    </option>
                  ))}
                </Select>
              </Field>
              {/* A TLS variant joins these formats (or a TLS switch next to them) once instances serve TLS: see ConnectionParams. */}
              <Field label="Format">
                <Select
                  value={format}
                  onChange={(e) => setFormat(e.target.value as ConnectionFormat)}
                >
                  {variants.map((variant) => (
                    <option key={variant.format} value={variant.format}>
                      {variant.label}
                    </option>
                  ))}
                </Select>
              </Field>
            </div>
            {hasNoAccess ? (
              <p role="status" className="text-sm text-amber-800">
                {user} has no access to {database}: grant it on the Users tab.
              </p>
            ) : null}
            <ConnectionText {...shown} />
            <p className="text-xs text-zinc-500">
              {format === 'cli'
                ? 'The client asks for the password.'
                : format === 'node' || format === 'python' || format === 'go'
                  ? 'The snippet reads the password from MYSQL_PASSWORD.'
                  : format === 'jdbc'
                    ? 'Pass the password as the password property (or to getConnection).'
                    : `Put the user's password where it says ${PASSWORD_PLACEHOLDER}.`}{' '}
              Coffer never stores passwords; set a new one on the Users tab if it is lost.
            </p>
          </>
        ) : (
          <p className="text-sm text-zinc-500">
            The address appears once the server has been placed.
          </p>
        )}
      </CardContent>
    </Card>
  );
}

function ConnectionText({
  text,
  textLabel,
  copyLabel,
}: {
  text: string;
  textLabel: string;
  copyLabel: string;
}) {
  return (
    <div className="flex items-start gap-2 rounded-md border border-zinc-200 bg-zinc-50 p-2">
      <pre
        aria-label={textLabel}
        className="min-w-0 flex-1 whitespace-pre-wrap px-1 py-1 font-mono text-sm text-zinc-900 [overflow-wrap:anywhere]"
      >
        {text}
      </pre>
      <CopyButton value={text} label={copyLabel} className="shrink-0" />
    </div>
  );
}
