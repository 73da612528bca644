// Ink redraws a frame by erasing every line of the previous one, then writing the new one. On a
// terminal without synchronized updates (tmux 3.3, the Linux console) the erase can show for a
// moment: flicker. This stdout wrapper turns that erase into "go back to the frame's first line"
// and ends each written line with erase-to-end-of-line, so a frame overwrites the last one in
// place and no blank screen is ever shown. Writes that do not start with Ink's erase pass through.
// (Ink's own incrementalRendering would avoid the erase, but in Ink 6.8 it draws each frame one
// line lower than the last and the screen scrolls.)

const ESC = "\u001B[";
const syncStart = `${ESC}?2026h`;
const eraseLines = /^((?:\u001B\[2K\u001B\[1A)*)\u001B\[2K\u001B\[G/;

export function overwriteFrame(chunk: string): string {
  const sync = chunk.startsWith(syncStart) ? syncStart : "";
  const body = chunk.slice(sync.length);
  const erase = eraseLines.exec(body);
  if (!erase) return chunk;
  const up = erase[1].length / `${ESC}2K${ESC}1A`.length;
  const frame = body.slice(erase[0].length).replaceAll("\n", `${ESC}K\n`);
  return `${sync}${up > 0 ? `${ESC}${up}A` : ""}${ESC}G${frame}${ESC}J`;
}

/** `stdout` with its string writes passed through overwriteFrame; everything else unchanged. */
export function overwritingStdout(stdout: NodeJS.WriteStream): NodeJS.WriteStream {
  return new Proxy(stdout, {
    get(target, key) {
      if (key === "write") {
        return (chunk: unknown, ...rest: unknown[]) =>
          (target.write as (...args: unknown[]) => boolean)(typeof chunk === "string" ? overwriteFrame(chunk) : chunk, ...rest);
      }
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
