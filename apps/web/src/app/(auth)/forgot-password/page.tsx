import type { Metadata } from 'next';

import { env } from '~/env';
import { ForgotPasswordForm } from './forgot-password-form';

export const metadata: Metadata = { title: 'Forgot password' };
// Rendered per request: whether mail is configured is the running server's setting, not the build's.
export const dynamic = 'force-dynamic';

export default function ForgotPasswordPage() {
  return <ForgotPasswordForm mailConfigured={env.COFFER_SMTP_URL !== ''} />;
}
