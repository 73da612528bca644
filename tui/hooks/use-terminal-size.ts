// The terminal's size, updated on resize. Ink re-lays out the width by itself; the height is ours
// to respect: a frame as tall as the terminal makes Ink clear the whole screen on every update.

import { useStdout } from "ink";
import { useEffect, useState } from "react";

export interface TerminalSize {
  columns: number;
  rows: number;
}

function sizeOf(stdout: NodeJS.WriteStream): TerminalSize {
  return { columns: stdout.columns || 80, rows: stdout.rows || 24 };
}

export function useTerminalSize(): TerminalSize {
  const { stdout } = useStdout();
  const [size, setSize] = useState(() => sizeOf(stdout));
  useEffect(() => {
    const resized = () =>
      setSize((before) => {
        const now = sizeOf(stdout);
        return now.columns === before.columns && now.rows === before.rows ? before : now;
      });
    stdout.on("resize", resized);
    return () => {
      stdout.off("resize", resized);
    };
  }, [stdout]);
  return size;
}
