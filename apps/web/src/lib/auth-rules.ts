/** Password rules for console accounts, shared by the forms and the server. */
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 128;
