/**
 * Keyboard shortcuts: `?` shows the help, `g` then a letter goes to a page, `/` focuses the page's search
 * box (any element with `data-search`). Keys typed into a field are the field's.
 */
import { useEffect, useRef } from 'react';
import { useNavigate } from 'react-router';
import { navShortcuts } from './nav.ts';

export interface Shortcut {
  keys: string;
  what: string;
}

export function shortcutList(): Shortcut[] {
  return [
    { keys: '?', what: 'Show this help' },
    { keys: '/', what: 'Search on this page' },
    ...navShortcuts().map((i) => ({ keys: `g ${i.key ?? ''}`, what: `Go to ${i.label}` })),
    { keys: 'Esc', what: 'Close a dialog or panel' },
  ];
}

function typingInField(e: KeyboardEvent): boolean {
  const t = e.target;
  return t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName));
}

/** Install the global shortcuts; `onHelp` opens the help dialog. */
export function useGlobalShortcuts(onHelp: () => void): void {
  const navigate = useNavigate();
  const pendingG = useRef(0);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typingInField(e)) return;
      if (e.key === '?') {
        e.preventDefault();
        onHelp();
        return;
      }
      if (e.key === '/') {
        const box = document.querySelector<HTMLElement>('[data-search]');
        if (box) {
          e.preventDefault();
          box.focus();
        }
        return;
      }
      if (Date.now() - pendingG.current < 1500) {
        pendingG.current = 0;
        const item = navShortcuts().find((i) => i.key === e.key);
        if (item) {
          e.preventDefault();
          void navigate(item.to);
        }
        return;
      }
      if (e.key === 'g') pendingG.current = Date.now();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [navigate, onHelp]);
}
