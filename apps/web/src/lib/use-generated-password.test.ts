import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

import { useGeneratedPassword } from './use-generated-password';

function Probe() {
  const [password] = useGeneratedPassword();
  return createElement('input', { readOnly: true, value: password, 'aria-label': 'Password' });
}

describe('useGeneratedPassword', () => {
  it('generates nothing while rendering on the server: its HTML is the same every time, with no password', () => {
    const first = renderToString(createElement(Probe));
    expect(renderToString(createElement(Probe))).toBe(first);
    expect(first).toContain('value=""');
  });
});
