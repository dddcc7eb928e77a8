import { useCallback, useEffect, useState } from 'react';

import { generatePassword } from './passwords';

/**
 * A generated password, and a way to generate another (for a button's click). It is made in
 * the browser once the form has mounted, never while rendering: made during render (even in a
 * lazy initializer) the server's HTML and the browser would hold two different passwords
 * (React's hydration error), and the server's would have been sent to the page for nothing.
 * Empty until then; a re-render keeps it.
 */
export function useGeneratedPassword(): [password: string, regenerate: () => void] {
  const [password, setPassword] = useState('');
  useEffect(() => setPassword((current) => current || generatePassword()), []);
  const regenerate = useCallback(() => setPassword(generatePassword()), []);
  return [password, regenerate];
}
