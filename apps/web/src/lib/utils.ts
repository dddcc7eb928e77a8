import { clsx, type ClassValue } from 'clsx';
import { twMerge } from 'tailwind-merge';

/** Joins class names and lets later Tailwind utilities override earlier ones. */
export function cn(...inputs: ClassValue[]): string {
  return twMerge(clsx(inputs));
}

const dateFormat = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' });

/** A stable, readable timestamp for tables ("Jan 5, 2026, 3:04 PM"). */
export function formatDateTime(value: Date | string): string {
  return dateFormat.format(typeof value === 'string' ? new Date(value) : value);
}
