/** "Now", redrawn once a second so ages and uptimes move; tests pass a fixed clock and no tick. */
import { useEffect, useState } from 'react';

export function useClock(now: () => number, everyMs: number): number {
  const [t, setT] = useState(now());
  useEffect(() => {
    if (everyMs <= 0) return;
    const timer = setInterval(() => setT(now()), everyMs);
    return () => clearInterval(timer);
  }, [now, everyMs]);
  return everyMs <= 0 ? now() : t;
}
