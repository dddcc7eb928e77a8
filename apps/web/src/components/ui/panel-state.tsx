import * as React from 'react';

import { CardContent } from '~/components/ui/card';
import { FormError } from '~/components/ui/field';
import { EmptyState } from '~/components/ui/page';
import { describeError } from '~/lib/trpc-errors';
import { cn } from '~/lib/utils';

/** What PanelState reads of a query (useQuery's and useInfiniteQuery's results alike). */
export interface PanelQuery<T> {
  error: { message: string } | null;
  data: T | undefined;
}

type PanelStateProps<T> = {
  query: PanelQuery<T>;
  /** Shown instead of the content when the data is a list without rows (in a card: CardEmptyState). */
  empty?: React.ReactNode;
  loadingLabel?: string;
  children: (data: T) => React.ReactNode;
} & (
  | {
      /** In a card's body: each state in a CardContent, the error as a form error. */
      variant: 'card';
    }
  | {
      /** On a page: the error in red as "<errorLabel>: <message>". */
      variant: 'page';
      errorLabel: string;
      /** Added to the error's and the loading line's classes. */
      className?: string;
    }
);

/**
 * A list's states before its content, the same on every panel and page: the query's error,
 * then "Loading…" until there is data, then `empty` for a list without rows, else the content.
 */
export function PanelState<T>(props: PanelStateProps<T>) {
  const { query, empty, loadingLabel = 'Loading…', children } = props;
  const isCard = props.variant === 'card';
  const className = props.variant === 'page' ? props.className : undefined;
  const inBody = (node: React.ReactNode) => (isCard ? <CardContent>{node}</CardContent> : node);

  if (query.error) {
    if (props.variant === 'card')
      return inBody(<FormError message={describeError(query.error).message} />);
    return (
      <p role="alert" className={cn('text-sm text-red-600', className)}>
        {props.errorLabel}: {query.error.message}
      </p>
    );
  }
  if (query.data === undefined)
    return inBody(<p className={cn('text-sm text-zinc-500', className)}>{loadingLabel}</p>);
  if (empty !== undefined && Array.isArray(query.data) && query.data.length === 0) return empty;
  return children(query.data);
}

/** An empty list inside a card: the EmptyState without its own border, in the card's body. */
export function CardEmptyState(props: Omit<React.ComponentProps<typeof EmptyState>, 'className'>) {
  return (
    <CardContent>
      <EmptyState {...props} className="border-0 py-8" />
    </CardContent>
  );
}
