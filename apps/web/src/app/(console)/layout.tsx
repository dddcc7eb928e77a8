import { requireSession } from '~/server/session/get-session';
import { api } from '~/trpc/server';
import { ConsoleShell } from '~/components/console/console-shell';

/** Every console page needs a session; the shell gets the user and their projects once. */
export default async function ConsoleLayout({ children }: { children: React.ReactNode }) {
  await requireSession();
  const [me, projects] = await Promise.all([api.viewer.me(), api.project.list()]);
  return (
    <ConsoleShell me={me} projects={projects}>
      {children}
    </ConsoleShell>
  );
}
