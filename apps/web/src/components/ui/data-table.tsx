import * as React from 'react';

import { Button, type ButtonProps } from './button';
import { Card } from './card';
import { type PanelQuery, PanelState } from './panel-state';
import { Table, TBody, TH, THead } from './table';

/** A column heading: its text, or the text with its classes; false or null leaves it out. */
export type Column = string | { label: string; className?: string } | false | null;

/** The right-aligned last column of a table with buttons per row. */
export const ACTIONS_COLUMN: Column = { label: 'Actions', className: 'text-right' };

/**
 * A table with a heading row and one row per item: `children` renders an item's <TR> (with its
 * key). `label` is the table's accessible name.
 */
export function DataTable<T>({
  label,
  columns,
  rows,
  children,
}: {
  label: string;
  columns: Column[];
  rows: readonly T[];
  children: (row: T) => React.ReactNode;
}) {
  return (
    <Table aria-label={label}>
      <THead>
        <tr>
          {columns.map((column) => {
            if (!column) return null;
            const { label: text, className } =
              typeof column === 'string' ? { label: column, className: undefined } : column;
            return (
              <TH key={text} className={className}>
                {text}
              </TH>
            );
          })}
        </tr>
      </THead>
      <TBody>{rows.map(children)}</TBody>
    </Table>
  );
}

/** A small button in a table row: an optional icon before its text. */
export function RowAction({
  icon: Icon,
  children,
  variant = 'ghost',
  ...props
}: Omit<ButtonProps, 'size'> & { icon?: React.ComponentType<{ 'aria-hidden'?: boolean }> }) {
  return (
    <Button variant={variant} size="sm" {...props}>
      {Icon ? <Icon aria-hidden /> : null}
      {children}
    </Button>
  );
}

/** A row's buttons, each a RowAction with its text. */
export function RowActions({
  actions,
}: {
  actions: (Omit<React.ComponentProps<typeof RowAction>, 'children'> & { label: string })[];
}) {
  return actions.map(({ label, ...props }) => (
    <RowAction key={label} {...props}>
      {label}
    </RowAction>
  ));
}

/**
 * A page's table of a query's rows, in a card: the query's error ("<errorLabel>: …") or
 * "Loading…" until there are rows, `empty` when there are none.
 */
export function QueryTable<T>({
  query,
  errorLabel,
  empty,
  ...table
}: {
  query: PanelQuery<T[]>;
  errorLabel: string;
  empty?: React.ReactNode;
  label: string;
  columns: Column[];
  children: (row: T) => React.ReactNode;
}) {
  return (
    <PanelState variant="page" query={query} errorLabel={errorLabel} empty={empty}>
      {(rows) => (
        <Card>
          <DataTable {...table} rows={rows} />
        </Card>
      )}
    </PanelState>
  );
}
