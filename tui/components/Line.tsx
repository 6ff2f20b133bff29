/**
 * One screen line of changing text. Ink keeps every distinct string it has
 * ever measured in module-level caches that are never emptied (measure-text
 * and wrap-text, Ink 5 and 6 alike), so a live feed through <Text> grows the
 * heap for as long as the TUI runs. A Line gives Ink only a run of spaces to
 * measure (one string per width: a bounded set) and puts the real, styled
 * text in at output time through <Transform>, which Ink does not cache.
 * Callers cut the text to the width first; styling is plain SGR.
 */
import { Transform } from 'ink';
import { useContext } from 'react';
import { fit } from '../format.js';
import { ThemeContext } from '../theme.js';

const SGR_COLOR: Record<string, number> = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, white: 37, gray: 90 };

export interface LineStyle {
  color?: string;
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
}

export function styled(text: string, s: LineStyle, noColor: boolean): string {
  const codes: number[] = [];
  if (s.bold) codes.push(1);
  if (s.dim) codes.push(2);
  if (s.inverse) codes.push(7);
  if (s.color && !noColor && SGR_COLOR[s.color]) codes.push(SGR_COLOR[s.color]);
  return codes.length ? `\x1b[${codes.join(';')}m${text}\x1b[0m` : text;
}

export function Line({ text, width, ...style }: LineStyle & { text: string; width: number }) {
  const { noColor } = useContext(ThemeContext);
  const shown = fit(text, width, false);
  const out = styled(shown, style, noColor);
  return <Transform transform={() => out}>{' '.repeat(Math.max(1, shown.length))}</Transform>;
}
