/**
 * ANSI-coloured log text to styled segments (anser, with classes rather than inline colours so the themes
 * choose the palette and no style attribute is needed).
 */
import Anser from 'anser';

export interface Segment {
  text: string;
  /** CSS classes: `ansi-red-fg`, `ansi-bold`, … */
  className: string;
}

/** One log line as segments; plain text comes back as one unstyled segment. */
export function ansiSegments(line: string): Segment[] {
  if (!line.includes('\u001b[')) return [{ text: line, className: '' }];
  return Anser.ansiToJson(line, { use_classes: true, remove_empty: true }).map((e) => ({
    text: e.content,
    className: [e.fg ? `${e.fg}-fg` : '', e.bg ? `${e.bg}-bg` : '', ...e.decorations.map((d) => `ansi-${d}`)].filter(Boolean).join(' '),
  }));
}

/** A line without its colour codes (for search). */
export function plainText(line: string): string {
  return line.includes('\u001b[') ? Anser.ansiToText(line) : line;
}

const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z /;

/** The line without the leading ISO timestamp Capstan's task logs write. */
export function withoutTimestamp(line: string): string {
  return line.replace(STAMP, '');
}
