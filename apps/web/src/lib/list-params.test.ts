import { describe, expect, it } from 'vitest';

import { adminInstancesInput, readAdminInstanceListParams } from './list-params';

const reader = (query: string) => {
  const params = new URLSearchParams(query);
  return (name: string) => params.get(name);
};

describe('the admin list view in the URL', () => {
  it('reads the project filter with the rest, and gives the input the server page prefetches', () => {
    const id = '0f6c2d6e-5b1a-4c57-9d35-3f9f0c7e2a10';
    const view = readAdminInstanceListParams(
      reader(`q=ledger&status=REBOOT&project=${id.toUpperCase()}&sort=name-asc&page=2`),
    );
    expect(view).toEqual({
      search: 'ledger',
      status: 'REBOOT',
      sortKey: 'name-asc',
      page: 2,
      projectId: id,
    });
    expect(adminInstancesInput(view)).toEqual({
      projectId: id,
      search: 'ledger',
      status: 'REBOOT',
      sort: 'name',
      order: 'asc',
      page: 2,
      pageSize: 25,
    });
  });

  it('takes anything but an id as every project, and an empty URL as the default view', () => {
    const view = readAdminInstanceListParams(reader('project=not-an-id'));
    expect(view.projectId).toBe('');
    expect(adminInstancesInput(view)).toEqual({
      sort: 'created',
      order: 'desc',
      page: 1,
      pageSize: 25,
    });
  });
});
