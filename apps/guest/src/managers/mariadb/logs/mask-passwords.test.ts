import { describe, expect, it } from 'vitest';

import { maskLogText, maskPasswords } from './mask-passwords';

describe('maskPasswords', () => {
  it.each([
    [
      "\t\t    5 Query\tALTER USER 'app'@'%' IDENTIFIED BY 'Secret-1'",
      "\t\t    5 Query\tALTER USER 'app'@'%' IDENTIFIED BY '***'",
    ],
    [
      "CREATE USER `x`@`%` IDENTIFIED BY PASSWORD '*AB12' WITH MAX_USER_CONNECTIONS 3",
      "CREATE USER `x`@`%` IDENTIFIED BY PASSWORD '***' WITH MAX_USER_CONNECTIONS 3",
    ],
    [
      "create user u identified via ed25519 using PASSWORD('pw-Two')",
      "create user u identified via ed25519 using PASSWORD('***')",
    ],
    ["SET PASSWORD FOR 'a'@'%' = PASSWORD('Three-3')", "SET PASSWORD FOR 'a'@'%' = '***'"],
    ["set password = 'Four4'", "set password = '***'"],
    ['SELECT PASSWORD("five5") AS h', "SELECT PASSWORD('***') AS h"],
    [
      "CHANGE MASTER TO MASTER_USER='r', MASTER_PASSWORD='six-6', MASTER_USE_GTID=slave_pos",
      "CHANGE MASTER TO MASTER_USER='r', MASTER_PASSWORD='***', MASTER_USE_GTID=slave_pos",
    ],
    [
      "GRANT ALL ON *.* TO 'b'@'%' IDENTIFIED BY 'it''s-7'",
      "GRANT ALL ON *.* TO 'b'@'%' IDENTIFIED BY '***'",
    ],
    ["ALTER USER c IDENTIFIED BY 'unterminated", "ALTER USER c IDENTIFIED BY '***'"],
  ])('%s', (line, expected) => {
    expect(maskPasswords(line)).toBe(expected);
  });

  it('leaves other statements alone', () => {
    expect(maskPasswords("SELECT name FROM t WHERE name = 'x'")).toBe(
      "SELECT name FROM t WHERE name = 'x'",
    );
  });

  it('masks each line of a text', () => {
    expect(maskLogText("a\nALTER USER d IDENTIFIED BY 'Eight-8'\nb")).toBe(
      "a\nALTER USER d IDENTIFIED BY '***'\nb",
    );
  });
});
