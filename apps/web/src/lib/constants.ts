/** The cookie that remembers the project last opened, so / returns to it. */
export const LAST_PROJECT_COOKIE = 'coffer-project';
