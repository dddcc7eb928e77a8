/**
 * The ways to connect to an instance that the Connect panel offers (CLI, URI, JDBC, environment
 * variables, Node, Python, Go), built from its address, a user and a database. The password is
 * never known here: the strings hold `PASSWORD_PLACEHOLDER` and the code snippets read
 * `MYSQL_PASSWORD` from the environment.
 */

/** What the strings and snippets say where the password goes. */
export const PASSWORD_PLACEHOLDER = 'YOUR_PASSWORD';
/** What the CLI and strings say where no user is chosen. */
export const USER_PLACEHOLDER = 'USER';

export interface ConnectionParams {
  host: string;
  port: number;
  /** The account name; empty: `USER_PLACEHOLDER`. */
  user: string;
  /** The default database; empty: none. */
  database: string;
  // TLS goes here once instances serve it: a `tls` field (off, required, verify with the CA)
  // that each variant below turns into its own words (`--ssl-verify-server-cert`,
  // `?ssl-mode=VERIFY_IDENTITY`, `sslMode=verify-full`, mysql2's `ssl`, PyMySQL's `ssl`,
  // `cfg.TLSConfig`), and a CA certificate to download next to them.
}

export type ConnectionFormat = 'cli' | 'uri' | 'jdbc' | 'env' | 'node' | 'python' | 'go';

export interface ConnectionVariant {
  format: ConnectionFormat;
  /** The picker's label. */
  label: string;
  /** The accessible name of the text. */
  textLabel: string;
  /** The copy button's label. */
  copyLabel: string;
  text: string;
}

/** A value as one shell (and .env) word: bare when safe, else single-quoted. */
export function shellWord(value: string): string {
  return /^[A-Za-z0-9_.%@:,/+=-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `host:port`, with an IPv6 address in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `mysql://user:YOUR_PASSWORD@host:port/database` (no path without a database). */
export function connectionUri({ host, port, user, database }: ConnectionParams): string {
  const account = encodeURIComponent(user || USER_PLACEHOLDER);
  const path = database ? `/${encodeURIComponent(database)}` : '';
  return `mysql://${account}:${PASSWORD_PLACEHOLDER}@${hostPort(host, port)}${path}`;
}

/** The client command; `-p` prompts for the password, the database comes last. */
export function cliCommand({ host, port, user, database }: ConnectionParams): string {
  const words = ['mariadb', '-h', shellWord(host), '-P', String(port)];
  words.push('-u', shellWord(user || USER_PLACEHOLDER), '-p');
  if (database) words.push(shellWord(database));
  return words.join(' ');
}

/** MariaDB Connector/J's URL with the user; the password goes in as a property. */
export function jdbcUrl({ host, port, user, database }: ConnectionParams): string {
  const path = database ? encodeURIComponent(database) : '';
  const account = encodeURIComponent(user || USER_PLACEHOLDER);
  return `jdbc:mariadb://${hostPort(host, port)}/${path}?user=${account}`;
}

export function environmentVariables(params: ConnectionParams): string {
  const lines = [
    ['DATABASE_URL', connectionUri(params)],
    ['MYSQL_HOST', params.host],
    ['MYSQL_PORT', String(params.port)],
    ['MYSQL_USER', params.user || USER_PLACEHOLDER],
    ['MYSQL_PASSWORD', PASSWORD_PLACEHOLDER],
    ...(params.database ? [['MYSQL_DATABASE', params.database]] : []),
  ];
  return lines.map(([name, value]) => `${name}=${shellWord(value!)}`).join('\n');
}

/** A string literal that JavaScript, Python and Go all read the same (names are ASCII). */
const literal = (value: string) => JSON.stringify(value);

export function nodeSnippet({ host, port, user, database }: ConnectionParams): string {
  return [
    '// npm install mysql2',
    "import mysql from 'mysql2/promise';",
    '',
    'const connection = await mysql.createConnection({',
    `  host: ${literal(host)},`,
    `  port: ${port},`,
    `  user: ${literal(user || USER_PLACEHOLDER)},`,
    '  password: process.env.MYSQL_PASSWORD,',
    ...(database ? [`  database: ${literal(database)},`] : []),
    '});',
    "const [rows] = await connection.query('SELECT 1');",
    'console.log(rows);',
    'await connection.end();',
  ].join('\n');
}

export function pythonSnippet({ host, port, user, database }: ConnectionParams): string {
  return [
    '# pip install PyMySQL',
    'import os',
    '',
    'import pymysql',
    '',
    'connection = pymysql.connect(',
    `    host=${literal(host)},`,
    `    port=${port},`,
    `    user=${literal(user || USER_PLACEHOLDER)},`,
    '    password=os.environ["MYSQL_PASSWORD"],',
    ...(database ? [`    database=${literal(database)},`] : []),
    ')',
    'with connection.cursor() as cursor:',
    '    cursor.execute("SELECT 1")',
    '    print(cursor.fetchone())',
    'connection.close()',
  ].join('\n');
}

export function goSnippet({ host, port, user, database }: ConnectionParams): string {
  return [
    '// go get github.com/go-sql-driver/mysql',
    'package main',
    '',
    'import (',
    '\t"database/sql"',
    '\t"fmt"',
    '\t"os"',
    '',
    '\t"github.com/go-sql-driver/mysql"',
    ')',
    '',
    'func main() {',
    '\tcfg := mysql.NewConfig()',
    `\tcfg.User = ${literal(user || USER_PLACEHOLDER)}`,
    '\tcfg.Passwd = os.Getenv("MYSQL_PASSWORD")',
    '\tcfg.Net = "tcp"',
    `\tcfg.Addr = ${literal(hostPort(host, port))}`,
    ...(database ? [`\tcfg.DBName = ${literal(database)}`] : []),
    '\tdb, err := sql.Open("mysql", cfg.FormatDSN())',
    '\tif err != nil {',
    '\t\tpanic(err)',
    '\t}',
    '\tdefer db.Close()',
    '\tvar one int',
    '\tif err := db.QueryRow("SELECT 1").Scan(&one); err != nil {',
    '\t\tpanic(err)',
    '\t}',
    '\tfmt.Println(one)',
    '}',
  ].join('\n');
}

/** Every variant, in the picker's order. */
export function connectionVariants(params: ConnectionParams): ConnectionVariant[] {
  return [
    {
      format: 'cli',
      label: 'mariadb CLI',
      textLabel: 'Connection command',
      copyLabel: 'Copy command',
      text: cliCommand(params),
    },
    {
      format: 'uri',
      label: 'URI',
      textLabel: 'Connection URI',
      copyLabel: 'Copy URI',
      text: connectionUri(params),
    },
    {
      format: 'jdbc',
      label: 'JDBC URL',
      textLabel: 'JDBC URL',
      copyLabel: 'Copy JDBC URL',
      text: jdbcUrl(params),
    },
    {
      format: 'env',
      label: 'Environment variables',
      textLabel: 'Environment variables',
      copyLabel: 'Copy variables',
      text: environmentVariables(params),
    },
    {
      format: 'node',
      label: 'Node.js (mysql2)',
      textLabel: 'Node.js snippet',
      copyLabel: 'Copy snippet',
      text: nodeSnippet(params),
    },
    {
      format: 'python',
      label: 'Python (PyMySQL)',
      textLabel: 'Python snippet',
      copyLabel: 'Copy snippet',
      text: pythonSnippet(params),
    },
    {
      format: 'go',
      label: 'Go (go-sql-driver)',
      textLabel: 'Go snippet',
      copyLabel: 'Copy snippet',
      text: goSnippet(params),
    },
  ];
}
