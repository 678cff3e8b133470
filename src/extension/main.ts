// Extension entry point: thin. Creates the context (which starts the language server only when a
// prompt is open), registers the commands and the Related Tags view. The model loads in the server.
import * as vscode from 'vscode';
import { insertTag, openLog, openSettings, restartServer, sampleTags, showMenu, type Command } from './commands';
// CALL SITE for the converter engineer's module, enabled once src/extension/convert.ts is committed:
import { registerConvertCommand } from './convert';
import { Ctx } from './ctx';
import { RelatedTagsView } from './relatedTags';

let ctx: Ctx | undefined;

export function activate(context: vscode.ExtensionContext): void {
  ctx = new Ctx(context);
  const commands: Record<string, Command> = {
    'danbooruGpt.sampleTags': sampleTags(ctx),
    'danbooruGpt.restartServer': restartServer(ctx),
    'danbooruGpt.openLog': openLog(ctx),
    'danbooruGpt.openSettings': openSettings(),
    'danbooruGpt.showMenu': showMenu(ctx),
    'danbooruGpt.insertTag': insertTag(ctx),
  };
  for (const [id, handler] of Object.entries(commands)) context.subscriptions.push(vscode.commands.registerCommand(id, handler));
  const related = new RelatedTagsView(ctx);
  context.subscriptions.push(related, vscode.commands.registerCommand('danbooruGpt.refreshRelatedTags', () => related.refresh()));
  // The converter (src/extension/convert.ts, owned by the converter engineer) registers its own command.
  registerConvertCommand(context, ctx.log);
}

export async function deactivate(): Promise<void> {
  await ctx?.dispose();
  ctx = undefined;
}
