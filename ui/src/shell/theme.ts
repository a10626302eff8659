/**
 * Light, dark or the system's choice, kept in localStorage and applied as `data-theme` on <html> (the
 * stylesheet's variables switch on it). Applied before the first render so a page never flashes.
 */
import { useEffect, useState } from 'react';

export type ThemeChoice = 'light' | 'dark' | 'system';
const KEY = 'capstan.theme';
const THEMES: readonly ThemeChoice[] = ['light', 'dark', 'system'];

export function storedTheme(): ThemeChoice {
  const v = localStorage.getItem(KEY);
  return THEMES.includes(v as ThemeChoice) ? (v as ThemeChoice) : 'system';
}

/** The colours a choice means right now (system follows `prefers-color-scheme`). */
export function resolvedTheme(choice: ThemeChoice): 'light' | 'dark' {
  if (choice !== 'system') return choice;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function applyTheme(choice: ThemeChoice): void {
  document.documentElement.dataset['theme'] = resolvedTheme(choice);
  document.documentElement.dataset['themeChoice'] = choice;
}

/** The current choice and a setter that stores and applies it; follows the system while on `system`. */
export function useTheme(): [ThemeChoice, (t: ThemeChoice) => void] {
  const [theme, setTheme] = useState<ThemeChoice>(storedTheme);
  useEffect(() => {
    applyTheme(theme);
    if (theme !== 'system') return undefined;
    const mq = window.matchMedia('(prefers-color-scheme: dark)');
    const onChange = () => applyTheme('system');
    mq.addEventListener('change', onChange);
    return () => mq.removeEventListener('change', onChange);
  }, [theme]);
  return [
    theme,
    (t) => {
      localStorage.setItem(KEY, t);
      setTheme(t);
    },
  ];
}
