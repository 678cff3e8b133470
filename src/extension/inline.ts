// Ghost-text suggestion of the next tag (off by default): asks the server's danbooruGpt/nextTags.
import * as vscode from 'vscode';
import { NextTagsRequest, TAG_PICKED_COMMAND } from '../protocol';
import type { Ctx } from './ctx';

export class InlineTagProvider implements vscode.InlineCompletionItemProvider {
  constructor(private readonly ctx: Ctx) {}

  async provideInlineCompletionItems(document: vscode.TextDocument, position: vscode.Position, _context: vscode.InlineCompletionContext, token: vscode.CancellationToken): Promise<vscode.InlineCompletionItem[]> {
    // (Not after a failed start or a stop for good: each keystroke would start a server.)
    const client = await this.ctx.available()?.catch(() => undefined);
    if (!client || token.isCancellationRequested) return [];
    try {
      const result = await client.sendRequest(NextTagsRequest, { textDocument: { uri: document.uri.toString() }, position: { line: position.line, character: position.character } }, token);
      return result.items.map((item) => {
        // Accepted, the tag counts as picked (pickedTags.ts), as one taken from the completion list.
        const command: vscode.Command = { title: 'Count the pick', command: TAG_PICKED_COMMAND, arguments: [item.tag, false] };
        return new vscode.InlineCompletionItem(item.insertText, client.protocol2CodeConverter.asRange(item.range), command);
      });
    } catch {
      return [];
    }
  }
}
