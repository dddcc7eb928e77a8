import { describe, expect, it } from 'vitest';

import { groupFieldErrors, textOfValues, valuesOfText } from './values-text';

describe('configuration values as text', () => {
  it('reads `name = value` lines, skipping blanks and comments, values as typed', () => {
    expect(
      valuesOfText(
        '# tuning\n max_connections = 200 \n\nsql_mode=STRICT_TRANS_TABLES,NO_ZERO_DATE\nevent_scheduler\n',
      ),
    ).toEqual({
      max_connections: '200',
      sql_mode: 'STRICT_TRANS_TABLES,NO_ZERO_DATE',
      event_scheduler: '',
    });
  });

  it('writes values back in name order, booleans as ON and OFF, and reads them again', () => {
    const values = { performance_schema: true, max_connections: 180, autocommit: false };
    const text = textOfValues(values);
    expect(text).toBe('autocommit = OFF\nmax_connections = 180\nperformance_schema = ON');
    expect(valuesOfText(text)).toEqual({
      autocommit: 'OFF',
      max_connections: '180',
      performance_schema: 'ON',
    });
  });

  it("sorts the API's field errors: the name's, every refused value's, any other field's", () => {
    expect(
      groupFieldErrors({
        name: ['A configuration group named "x" already exists in this project'],
        'values.max_connections': ['max_connections: 100001 is above the maximum of 100000'],
        'values.skip_grant_tables': ['skip_grant_tables: not a parameter a group may set'],
        datastoreVersionId: ['No such datastore version'],
      }),
    ).toEqual({
      name: 'A configuration group named "x" already exists in this project',
      values: [
        'max_connections: 100001 is above the maximum of 100000',
        'skip_grant_tables: not a parameter a group may set',
      ],
      others: ['No such datastore version'],
    });
  });
});
