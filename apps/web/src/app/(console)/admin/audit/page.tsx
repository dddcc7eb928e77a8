import type { Metadata } from 'next';

import { AdminAuditLog } from './admin-audit-log';

export const metadata: Metadata = { title: 'Audit log · Admin' };

export default function AdminAuditPage() {
  return <AdminAuditLog />;
}
