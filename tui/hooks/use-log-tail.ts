/** The tail of a log file, read again every second while it is shown. */
import { useEffect, useState } from 'react';
import { readTail } from '../log-tail.js';

export type TailReader = (file: string, lines: number) => { lines: string[]; error: string | null };

export function useLogTail(file: string | null, lines: number, reader: TailReader = readTail, everyMs = 1000): { lines: string[]; error: string | null } {
  const read = () => (file ? reader(file, lines) : { lines: [], error: null });
  const [tail, setTail] = useState(read);
  useEffect(() => {
    setTail(read());
    if (!file || everyMs <= 0) return;
    const timer = setInterval(() => setTail(read()), everyMs);
    return () => clearInterval(timer);
  }, [file, lines, reader, everyMs]);
  return tail;
}
