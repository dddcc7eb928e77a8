import 'server-only';

import { notFound } from 'next/navigation';

import { api } from '~/trpc/server';

/**
 * Admin pages exist for operators only: anyone else gets a 404. Every admin page calls it
 * before prefetching anything (the layout's check runs beside the page, not before it).
 */
export async function requireOperator(): Promise<void> {
  const me = await api.viewer.me();
  if (!me.isOperator) notFound();
}
