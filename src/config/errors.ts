/**
 * The one error a configuration problem becomes. Its message is one line,
 * `<file>: <key>: <problem>` (or `<file>: <problem>` when no single key is at fault, as for a
 * syntax error or an unreadable file). The CLI prints it and exits with status 2.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";

  constructor(
    readonly file: string,
    readonly key: string,
    readonly problem: string,
  ) {
    super(key === "" ? `${file}: ${problem}` : `${file}: ${key}: ${problem}`);
  }
}
