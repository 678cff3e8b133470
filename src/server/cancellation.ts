// Requests that run the model follow their LSP cancellation token: the engine gets an AbortSignal
// (a sub-word model scores candidates in many runs and stops between two), and a cancelled request
// answers RequestCancelled, which the client drops silently; any other error it shows the user.
import type { CancellationToken } from 'vscode-languageserver/node';
import { cancelledError, isAbortError } from './completion';

/** Runs `work` with a signal that aborts when `token` is cancelled; cancelled, it rejects with RequestCancelled. */
export async function cancellable<T>(token: CancellationToken, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  // A token cancelled before the handler ran calls its listeners only on a later tick.
  if (token.isCancellationRequested) controller.abort();
  const subscription = token.onCancellationRequested(() => controller.abort());
  try {
    const result = await work(controller.signal);
    // The work may have finished without looking at the signal (all of it cached).
    if (token.isCancellationRequested) throw cancelledError();
    return result;
  } catch (error) {
    if (token.isCancellationRequested || controller.signal.aborted || isAbortError(error)) throw cancelledError();
    throw error;
  } finally {
    subscription.dispose();
  }
}
