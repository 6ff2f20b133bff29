/**
 * Colour, or none: NO_COLOR (any non-empty value, as no-color.org says)
 * turns every colour off. Meaning never rests on colour alone: marks and
 * words carry it, colour only helps the eye.
 */
import { createContext } from 'react';

export interface Theme {
  noColor: boolean;
}

export const ThemeContext = createContext<Theme>({ noColor: false });

export function noColorFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NO_COLOR !== undefined && env.NO_COLOR !== '';
}
