import type { Metadata } from 'next';

import { env } from '~/env';
import { ForgotPasswordForm } from './forgot-password-form';

export const metadata: Metadata = { title: 'Forgot password' };

export default function ForgotPasswordPage() {
  return <ForgotPasswordForm mailConfigured={env.COFFER_SMTP_URL !== ''} />;
}
