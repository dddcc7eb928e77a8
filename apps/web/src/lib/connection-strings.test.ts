import { describe, expect, it } from 'vitest';

import { connectionVariants, PASSWORD_PLACEHOLDER } from './connection-strings';

const texts = (params: Parameters<typeof connectionVariants>[0]) =>
  Object.fromEntries(connectionVariants(params).map((variant) => [variant.format, variant.text]));

describe('connectionVariants', () => {
  it('names the address, the user and the database in every format, the password nowhere', () => {
    const all = texts({ host: 'db.example.com', port: 27801, user: 'shop_app', database: 'shop' });
    expect(all.cli).toBe('mariadb -h db.example.com -P 27801 -u shop_app -p shop');
    expect(all.uri).toBe(`mysql://shop_app:${PASSWORD_PLACEHOLDER}@db.example.com:27801/shop`);
    expect(all.jdbc).toBe('jdbc:mariadb://db.example.com:27801/shop?user=shop_app');
    expect(all.env).toBe(
      [
        `DATABASE_URL=mysql://shop_app:${PASSWORD_PLACEHOLDER}@db.example.com:27801/shop`,
        'MYSQL_HOST=db.example.com',
        'MYSQL_PORT=27801',
        'MYSQL_USER=shop_app',
        `MYSQL_PASSWORD=${PASSWORD_PLACEHOLDER}`,
        'MYSQL_DATABASE=shop',
      ].join('\n'),
    );
    expect(all.node).toContain('database: "shop",');
    expect(all.python).toContain('database="shop",');
    expect(all.go).toContain('cfg.Addr = "db.example.com:27801"');
    for (const snippet of [all.node, all.python, all.go])
      expect(snippet).toContain('MYSQL_PASSWORD');
  });

  it('quotes names the shell would expand, encodes them in URLs, brackets IPv6, leaves out a missing database', () => {
    const all = texts({ host: '::1', port: 3306, user: 'app$1', database: '' });
    expect(all.cli).toBe("mariadb -h ::1 -P 3306 -u 'app$1' -p");
    expect(all.uri).toBe(`mysql://app%241:${PASSWORD_PLACEHOLDER}@[::1]:3306`);
    expect(all.jdbc).toBe('jdbc:mariadb://[::1]:3306/?user=app%241');
    expect(all.env).toContain("MYSQL_USER='app$1'");
    expect(all.env).not.toContain('MYSQL_DATABASE');
    expect(all.go).not.toContain('DBName');
  });

  it('says USER until a user is chosen', () => {
    expect(texts({ host: 'h', port: 1, user: '', database: 'd' }).cli).toBe(
      'mariadb -h h -P 1 -u USER -p d',
    );
  });
});
