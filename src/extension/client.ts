// The heavy half of the client, bundled separately (dist/client.js) and loaded by main.ts only when
// a prompt is open or a command runs: the language client library costs more to load than the whole
// activation budget. Builds the context, the commands and the Related Tags provider.
import * as vscode from 'vscode';
import { addKnownTag, addTagToEveryPrompt, forgetPickedTags, insertTag, openLog, openSettings, removeTagFromEveryPrompt, restartServer, sampleTags, showMenu, tagCounts, type Command } from './commands';
import { Ctx } from './ctx';
import { RelatedTagsView } from './relatedTags';
import { ADD_KNOWN_TAG_COMMAND, type RelatedTag } from '../protocol';

export interface ClientRuntime {
  ctx: Ctx;
  commands: Record<string, Command>;
  related: RelatedTagsView;
  dispose(): Promise<void>;
}

export function createRuntime(extension: vscode.ExtensionContext, log: vscode.LogOutputChannel, statusItem: vscode.StatusBarItem, relatedView: vscode.TreeView<RelatedTag>): ClientRuntime {
  const ctx = new Ctx(extension, log, statusItem);
  const related = new RelatedTagsView(ctx, relatedView);
  const commands: Record<string, Command> = {
    'danbooruGpt.sampleTags': sampleTags(ctx),
    'danbooruGpt.tagCounts': tagCounts(ctx),
    'danbooruGpt.addTagToEveryPrompt': addTagToEveryPrompt(ctx),
    'danbooruGpt.removeTagFromEveryPrompt': removeTagFromEveryPrompt(ctx),
    'danbooruGpt.forgetPickedTags': forgetPickedTags(ctx),
    'danbooruGpt.restartServer': restartServer(ctx),
    'danbooruGpt.openLog': openLog(ctx),
    'danbooruGpt.openSettings': openSettings(),
    'danbooruGpt.showMenu': showMenu(ctx),
    'danbooruGpt.insertTag': insertTag(ctx),
    'danbooruGpt.refreshRelatedTags': () => related.refresh(),
    [ADD_KNOWN_TAG_COMMAND]: addKnownTag(ctx),
  };
  return {
    ctx,
    commands,
    related,
    async dispose() {
      related.dispose();
      await ctx.dispose();
    },
  };
}
