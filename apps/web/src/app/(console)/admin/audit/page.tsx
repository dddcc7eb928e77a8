import type { Metadata } from 'next';

import { requireOperator } from '../require-operator';
import { AdminAuditLog } from './admin-audit-log';

export const metadata: Metadata = { title: 'Audit log · Admin' };

export default async function AdminAuditPage() {
  await requireOperator();
  return <AdminAuditLog />;
}
