// The language client writes plain lines (`[Error - 10:41:02] message`) to its output channel; with
// our LogOutputChannel handed over as is, each of them lands at info level, errors included. This
// channel parses that prefix and logs the message at its own level, once.
import type * as vscode from 'vscode';

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

// The client writes trace lines only when danbooruGpt.trace.server asks for them: logged at info, where
// the log shows them (at trace level they were hidden until the log level was lowered too).
const LEVELS: Record<string, Level> = { Trace: 'info', LSP: 'info', Debug: 'debug', Info: 'info', Warn: 'warn', Error: 'error' };
const PREFIX = /^\[(Trace|LSP|Debug|Info|Warn|Error)\s*- [^\]]*\] ?([\s\S]*)$/;

/** A server process that exits with 0 was asked to (a restart or stop): not an error. */
const CLEAN_EXIT = /^Server process exited with code 0\.?$/;

/** `line` as the client wrote it → the level and the message without the prefix. */
export function parseClientLine(line: string, previous: Level = 'info'): { level: Level; message: string } {
  const match = PREFIX.exec(line);
  // A line without a prefix continues the one before (the client writes an error's details that way).
  // (The client's `info(message, !handled)` after a crash writes its boolean data as a line of its own.)
  if (!match) return { level: previous, message: /^(?:true|false)$/.test(line.trim()) ? '' : line };
  const message = match[2]!;
  const level = CLEAN_EXIT.test(message.trim()) ? 'info' : LEVELS[match[1]!]!;
  return { level, message };
}

export function clientOutputChannel(log: vscode.LogOutputChannel): vscode.OutputChannel {
  let previous: Level = 'info';
  /** The server's stderr comes in chunks: logged line by line once complete. */
  let partial = '';
  const write = (line: string): void => {
    const { level, message } = parseClientLine(line, previous);
    previous = level;
    if (message.trim() !== '') log[level](message);
  };
  return {
    name: log.name,
    append(value: string) {
      const lines = (partial + value).split(/\r?\n/);
      partial = lines.pop()!;
      // Unprefixed output of the server process itself (stderr): worth noticing, not an error by itself.
      for (const line of lines) if (line.trim() !== '') log.warn(line);
    },
    appendLine: write,
    replace: (value: string) => write(value),
    clear: () => log.clear(),
    show: (columnOrPreserve?: vscode.ViewColumn | boolean, preserveFocus?: boolean) => log.show(typeof columnOrPreserve === 'boolean' ? columnOrPreserve : preserveFocus),
    hide: () => log.hide(),
    // The channel belongs to the extension (main.ts), not to one client: a restart keeps it.
    dispose: () => undefined,
  };
}
