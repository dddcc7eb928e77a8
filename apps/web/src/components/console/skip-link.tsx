'use client';

/** The id of the console's main region, the skip link's target. */
export const MAIN_ID = 'main';

/**
 * "Skip to content": the first thing Tab reaches on every console page, hidden until focused;
 * it moves focus to the main region (past the header and navigation).
 */
export function SkipLink() {
  return (
    <a
      href={`#${MAIN_ID}`}
      onClick={(event) => {
        const main = document.getElementById(MAIN_ID);
        if (!main) return;
        event.preventDefault();
        main.focus();
      }}
      className="sr-only focus:not-sr-only focus:fixed focus:left-4 focus:top-3 focus:z-50 focus:rounded-md focus:border focus:border-zinc-300 focus:bg-white focus:px-3 focus:py-2 focus:text-sm focus:font-medium focus:text-accent-700 focus:shadow-lg"
    >
      Skip to content
    </a>
  );
}
