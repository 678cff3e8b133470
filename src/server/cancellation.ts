// Requests that run the model follow their LSP cancellation token: the engine gets an AbortSignal
// (a sub-word model scores candidates in many runs and stops between two), and a cancelled request
// answers RequestCancelled, which the client drops silently; any other error it shows the user.
// A request may also be superseded: completion's next keystroke aborts the one before it, for the
// same document, without waiting for the client to cancel it.
import { LSPErrorCodes, ResponseError, type CancellationToken } from 'vscode-languageserver/node';

export function cancelledError(): ResponseError<void> {
  return new ResponseError(LSPErrorCodes.RequestCancelled, 'request cancelled');
}

/**
 * Turns of the event loop for a long loop over lines (a 200,000-line dataset takes seconds): `due(n)`
 * says when one is owed (every n calls), `take()` gives it, so that other requests and the client's
 * cancellation come in, and throws RequestCancelled when the request was cancelled or `unchanged()`
 * says the text the loop reads has changed since it began.
 */
export class Turns {
  private count = 0;

  constructor(
    private readonly token: CancellationToken,
    private readonly unchanged: () => boolean = () => true,
  ) {}

  due(every: number): boolean {
    if (++this.count < every) return false;
    this.count = 0;
    return true;
  }

  async take(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    if (this.token.isCancellationRequested || !this.unchanged()) throw cancelledError();
  }
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || /abort/i.test(error.message));
}

/** The request in flight for each `supersedes` key. */
const inFlight = new Map<string, AbortController>();

/**
 * Runs `work` with a signal that aborts when `token` is cancelled, or when a later call with the same
 * `supersedes` key starts; either way it rejects with RequestCancelled.
 */
export async function cancellable<T>(token: CancellationToken, work: (signal: AbortSignal) => Promise<T>, supersedes?: string): Promise<T> {
  const controller = new AbortController();
  if (supersedes !== undefined) {
    inFlight.get(supersedes)?.abort();
    inFlight.set(supersedes, controller);
  }
  // A token cancelled before the handler ran calls its listeners only on a later tick.
  if (token.isCancellationRequested) controller.abort();
  const subscription = token.onCancellationRequested(() => controller.abort());
  try {
    const result = await work(controller.signal);
    // The work may have finished without looking at the signal (all of it cached).
    if (token.isCancellationRequested || controller.signal.aborted) throw cancelledError();
    return result;
  } catch (error) {
    if (token.isCancellationRequested || controller.signal.aborted || isAbortError(error)) throw cancelledError();
    throw error;
  } finally {
    subscription.dispose();
    if (supersedes !== undefined && inFlight.get(supersedes) === controller) inFlight.delete(supersedes);
  }
}

/**
 * The open documents a whole-document request has read, each at the version it read: `unchanged()`
 * turns false once one is edited, closed or closed and opened again. Its edits, made on the text it
 * read, would otherwise land on other text (a keystroke undone; a closed file's lines written over
 * the one on disk). Documents read from disk are not held to it.
 */
export class ReadDocuments {
  private readonly read: { document: { uri: string; version: number }; version: number }[] = [];

  constructor(private readonly open: (uri: string) => { version: number } | undefined) {}

  /**
   * Notes the document as read now, when it is an open one (`open`: it was when the request came,
   * for one noted after an await).
   */
  add(document: { uri: string; version: number }, open = this.open(document.uri) === document): void {
    if (open) this.read.push({ document, version: document.version });
  }

  readonly unchanged = (): boolean => this.read.every(({ document, version }) => document.version === version && this.open(document.uri) === document);

  /** Throws RequestCancelled when a document read has changed since. */
  check(): void {
    if (!this.unchanged()) throw cancelledError();
  }
}
