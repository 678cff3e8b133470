// Every custom request and notification the client and the language server share, typed, in one
// place. Standard LSP features (completion, hover, diagnostics, code actions) are not repeated here.
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import type { Position, Range, TextDocumentIdentifier, WorkspaceEdit } from 'vscode-languageserver-protocol';

/** A tag with what the dictionary knows about it. */
export interface TagSummary {
  tag: string;
  category: number;
  count: number;
}

// ---- danbooruGpt/sampleTags -------------------------------------------------------------------

export interface SampleTagsParams {
  /** The prompt document; omitted for samples from an empty prompt (new document). */
  textDocument?: TextDocumentIdentifier;
  /** Where to continue the prompt; the tags left of it on its line are the context. */
  position?: Position;
  /** Number of samples; default: the `danbooruGpt.sample.count` setting. */
  n?: number;
  /** A seed for this request (0..2^32-1), over `danbooruGpt.sample.seed`: the picker's Sample Again. */
  seed?: number;
}

export interface TagSample {
  /** New tags, canonical (underscore) form. */
  tags: string[];
  /** The tags written in the configured insert style, joined with `, `. */
  text: string;
  /** With danbooruGpt.translationFile: the tags' translations (each its first alternative; a tag without one as itself), joined with `, `. */
  translated?: string;
  /** For a document: the edit that appends this sample at the position with the right separators. */
  edit?: { range: Range; newText: string };
}

export interface SampleTagsResult {
  samples: TagSample[];
  /** The context the samples continue. */
  context: string[];
  /** The context's tags the model cannot read (a character tag, an unknown one): kept, but they steer nothing. */
  unseen: string[];
  /** The seed used (the setting's, or a random one, so that a result can be reproduced). */
  seed: number;
}

export const SampleTagsRequest = new RequestType<SampleTagsParams, SampleTagsResult, void>('danbooruGpt/sampleTags');

// ---- danbooruGpt/relatedTags ------------------------------------------------------------------

export interface RelatedTagsParams {
  textDocument: TextDocumentIdentifier;
  position: Position;
  /** How many tags, an integer in 1..100 (else an InvalidParams error); default 20. */
  k?: number;
}

export interface RelatedTag extends TagSummary {
  /** The model's probability of this tag coming next. */
  probability: number;
  /** The tag written in the document's insert style. */
  insertText: string;
  /** Its translation in danbooruGpt.translationFile, when that has one. */
  translation?: string;
}

export interface RelatedTagsResult {
  /** The prompt's tags left of the position, the model's context. */
  context: string[];
  /** The context's tags the model cannot read (a character tag, an unknown one): they steer nothing. */
  unseen: string[];
  tags: RelatedTag[];
  /** False when running dictionary-only: the list is by popularity, not by the model. */
  fromModel: boolean;
}

export const RelatedTagsRequest = new RequestType<RelatedTagsParams, RelatedTagsResult, void>('danbooruGpt/relatedTags');

// ---- danbooruGpt/nextTags (inline ghost-text suggestions) -------------------------------------

export interface NextTagsParams {
  textDocument: TextDocumentIdentifier;
  position: Position;
}

export interface InlineTagSuggestion {
  /** Replaces `range`; starts with the text already in the range, so the rest shows as ghost text. */
  insertText: string;
  range: Range;
  tag: string;
}

export interface NextTagsResult {
  items: InlineTagSuggestion[];
}

export const NextTagsRequest = new RequestType<NextTagsParams, NextTagsResult, void>('danbooruGpt/nextTags');

// ---- danbooruGpt/tagCounts (Tag Counts: how many prompts hold each tag) ------------------------
// Of the document, or with danbooruGpt.tagScope `folder` of every file of its extension under its folder.

export interface TagCountsParams {
  textDocument: TextDocumentIdentifier;
}

export interface TagCount {
  /** The tag's canonical name (an alias counts as its tag), or its dictionary form when unknown. */
  tag: string;
  /** Prompts (lines) holding it. */
  prompts: number;
  /** Its category and Danbooru post count; undefined when the dictionary does not know it. */
  category?: number;
  posts?: number;
  /** Its translation in danbooruGpt.translationFile, when that has one. */
  translation?: string;
  /** Where it is first written: the document (of those counted) and the position. */
  uri: string;
  first: Position;
}

export interface TagCountsResult {
  /** Lines holding at least one tag. */
  prompts: number;
  /** The documents counted (more than one with tagScope `folder`). */
  files: number;
  /** Different tags in them. */
  distinct: number;
  /** The most frequent first (then by name), at most TAG_COUNTS_LIMIT. */
  tags: TagCount[];
}

export const TAG_COUNTS_LIMIT = 5000;

export const TagCountsRequest = new RequestType<TagCountsParams, TagCountsResult, void>('danbooruGpt/tagCounts');

// ---- danbooruGpt/editEveryPrompt (add a tag to, or remove one from, every prompt) ---------------
// Of the document, or with danbooruGpt.tagScope `folder` of every file of its extension under its
// folder: a trigger word put first in every caption of a training set, a tag taken out of all of them.

export interface EditEveryPromptParams {
  textDocument: TextDocumentIdentifier;
  /** A tag to put into every prompt that lacks it (in any spelling or as an alias): first or last. */
  add?: { tag: string; at: 'start' | 'end' };
  /** A tag to take out of every prompt, in any spelling or as an alias. */
  remove?: string;
}

export interface EditEveryPromptResult {
  /** The edit, for the client to apply (each file's lines that change). */
  edit: WorkspaceEdit;
  /** Prompts (lines) changed, and the files holding them. */
  prompts: number;
  files: number;
  /** The tag as the dictionary names it (an alias given: its tag), for the message. */
  tag: string;
  /** Files of the folder (tag scope `folder`) that could not be read, not UTF-8 say: left as they are. */
  leftOut?: string[];
}

export const EditEveryPromptRequest = new RequestType<EditEveryPromptParams, EditEveryPromptResult, void>('danbooruGpt/editEveryPrompt');

// ---- danbooruGpt/serverStatus -----------------------------------------------------------------

export type ServerHealth = 'ok' | 'warning' | 'error';

export interface ServerStatusParams {
  health: ServerHealth;
  /** What the status bar says in its tooltip and the log records: the reason for an error, naming the file. */
  message: string;
  /** Whether the model is still loading. */
  loading: boolean;
  /** The loaded model's name; undefined when running dictionary-only. */
  model?: string;
  /** Set by the client, never sent: the server process stopped for good (the model was not the problem). */
  stopped?: boolean;
}

export const ServerStatusNotification = new NotificationType<ServerStatusParams>('danbooruGpt/serverStatus');

// ---- danbooruGpt.tagPicked (a completion item's command) and danbooruGpt/forgetPickedTags ------

/**
 * The command a tag's completion item runs once inserted (arguments: [tag, suggestNext]): the server
 * counts the pick (workspace/executeCommand), and the VS Code client then opens the list for the next
 * tag when `suggestNext` (a separator was written after the tag).
 */
export const TAG_PICKED_COMMAND = 'danbooruGpt.tagPicked';

/** A picked tag: how often, and when last. */
export interface PickedTagInfo {
  tag: string;
  /** Every pick, unfaded. */
  total: number;
  /** When last picked (ms since the epoch). */
  lastPicked: number;
}

/** The picked tags, the most picked (faded by age) first. */
export const PickedTagsRequest = new RequestType0<PickedTagInfo[], void>('danbooruGpt/pickedTags');

export interface ForgetPickedTagsParams {
  /** The tags whose picks are forgotten; omitted: every pick. */
  tags?: string[];
}

export interface ForgetPickedTagsResult {
  /** Of those, the tags that were remembered. */
  forgotten: number;
}

export const ForgetPickedTagsRequest = new RequestType<ForgetPickedTagsParams, ForgetPickedTagsResult, void>('danbooruGpt/forgetPickedTags');

/** What the client tells the server on initialize besides the settings. */
export interface InitializationOptions {
  settings?: unknown;
  /** Where picked tags are remembered across sessions (the extension's global storage); none: this session only. */
  pickedTagsFile?: string;
  /**
   * false in an untrusted workspace: a relative folder setting (`wildcards`, the default) that leads out
   * of the workspace through a link is not read (WorkspaceTrustedNotification lifts it).
   */
  workspaceTrusted?: boolean;
}

/** The user trusted the workspace (after initialize said it was not). */
export const WorkspaceTrustedNotification = new NotificationType<void>('danbooruGpt/workspaceTrusted');

/**
 * The client command a quick fix runs to add an unknown tag to `danbooruGpt.diagnostics.knownTags`
 * (arguments: [name]); the server cannot write settings.
 */
export const ADD_KNOWN_TAG_COMMAND = 'danbooruGpt.addKnownTag';
