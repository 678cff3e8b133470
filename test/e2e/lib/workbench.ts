// What a person does in the VS Code workbench, as Playwright steps on code-server's page, and what
// they see, read back from the DOM. Selectors are VS Code 1.100's (code-server 4.100.3).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';

export interface SuggestRow {
  label: string;
  /** The row's right-hand text (the item's detail or label description), as shown. */
  detail: string;
  /** Everything the row's accessible label says (label, details, documentation summary). */
  ariaLabel: string;
  focused: boolean;
}

export interface ProblemRow {
  message: string;
  /** `file`, or `Ln 1, Col 2`-style source text shown beside the message. */
  ariaLabel: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Workbench {
  private constructor(
    readonly page: Page,
    private readonly shotsDir: string,
  ) {}

  static async open(browser: Browser, url: string, shotsDir: string): Promise<Workbench> {
    mkdirSync(shotsDir, { recursive: true });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const workbench = new Workbench(page, shotsDir);
    await page.goto(url);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    // The explorer lists the folder once the remote file system answers: the window is usable then.
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
    return workbench;
  }

  async close(): Promise<void> {
    await this.page.close();
  }

  async screenshot(name: string): Promise<string> {
    const file = path.join(this.shotsDir, `${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  // ---- quick input: palette, quick open, quick picks ------------------------------------------

  private quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  async quickPickRows(): Promise<string[]> {
    const rows = this.quickInput().locator('.monaco-list-row');
    return (await rows.allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
  }

  /** The visible quick pick's items: label and detail (the second row of an item), as shown. */
  async quickPickItems(): Promise<{ label: string; detail: string }[]> {
    return this.quickInput().locator('.monaco-list-row').evaluateAll((rows) =>
      rows.map((row) => {
        const lines = [...row.querySelectorAll('.quick-input-list-row')];
        return {
          label: (lines[0]?.querySelector('.label-name')?.textContent ?? '').trim(),
          detail: (lines[1]?.textContent ?? '').trim(),
        };
      }),
    );
  }

  async quickPickTitle(): Promise<string> {
    return ((await this.quickInput().locator('.quick-input-title').textContent()) ?? '').trim();
  }

  /** Moves the cursor with Go to Line (Ctrl+G): 1-based line, and column (default: the line's end). */
  async goTo(line: number, column?: number): Promise<void> {
    await this.activeEditor().locator('.view-lines').click();
    await this.page.keyboard.press('Control+g');
    const input = this.quickInput().locator('input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(column === undefined ? `:${line}` : `:${line}:${column}`);
    await this.page.keyboard.press('Enter');
    if (column === undefined) await this.page.keyboard.press('End');
  }

  /** Waits until the visible quick pick has a row whose text contains `text`, and returns all rows. */
  async waitForQuickPickRow(text: string, timeout = 15_000): Promise<string[]> {
    await this.quickInput().locator('.monaco-list-row', { hasText: text }).first().waitFor({ timeout });
    return this.quickPickRows();
  }

  /** Runs a command from the command palette by its title, as a person would. */
  async runCommand(title: string): Promise<void> {
    await this.page.keyboard.press('Escape');
    await this.page.keyboard.press('F1');
    const input = this.quickInput().locator('input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(`>${title}`);
    const row = this.quickInput().locator('.monaco-list-row', { hasText: title }).first();
    await row.waitFor({ timeout: 15_000 });
    await this.page.keyboard.press('Enter');
  }

  /**
   * The activation time VS Code itself measured for an extension (code loading + activate()), as
   * "Developer: Show Running Extensions" shows it, e.g. "Startup Activation: 17ms" -> 17.
   */
  async extensionActivationMs(displayName: string, timeoutMs = 15_000): Promise<{ ms: number; shown: string }> {
    await this.runCommand('Developer: Show Running Extensions');
    const row = this.page.locator('.runtime-extensions-editor .monaco-list-row', { hasText: displayName }).first();
    await row.waitFor({ timeout: timeoutMs });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const shown = ((await row.textContent()) ?? '').replace(/\s+/g, ' ').trim();
      const match = /Activation: (\d+(?:\.\d+)?) ?ms/.exec(shown);
      if (match) return { ms: Number(match[1]), shown };
      if (Date.now() > deadline) throw new Error(`no activation time in the Running Extensions row of ${displayName}: "${shown}"`);
      await sleep(250);
    }
  }

  /** Opens a workspace file with Quick Open (Ctrl+P), and waits for its editor. */
  async openFile(relativePath: string): Promise<void> {
    const name = path.basename(relativePath);
    await this.page.keyboard.press('Escape');
    await this.page.keyboard.press('Control+p');
    const input = this.quickInput().locator('input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(relativePath);
    // The focused row: the list shows recently opened files until the filter applies, and Enter on
    // one of those opens it instead (the file open before, often).
    await this.quickInput().locator('.monaco-list-row.focused', { hasText: name }).first().waitFor({ timeout: 30_000 });
    await this.page.keyboard.press('Enter');
    await this.page.locator('.tabs-container .tab.active', { hasText: name }).waitFor({ timeout: 15_000 });
    await this.activeEditor().locator('.view-lines').waitFor({ timeout: 15_000 });
    await this.activeEditor().locator('.view-lines').click();
  }

  // ---- the editor -----------------------------------------------------------------------------

  activeEditor(): Locator {
    return this.page.locator('.editor-group-container.active .editor-instance .monaco-editor').first();
  }

  /** The active editor's visible text, line by line (Monaco renders spaces as no-break spaces). */
  async editorLines(): Promise<string[]> {
    return this.activeEditor().locator('.view-lines').evaluate((el) =>
      [...el.querySelectorAll<HTMLElement>('.view-line')]
        .map((line) => ({ top: parseFloat(line.style.top || '0'), text: (line.textContent ?? '').replace(/\u00a0/g, ' ') }))
        .sort((a, b) => a.top - b.top)
        .map((line) => line.text),
    );
  }

  /**
   * The editor's lines once `done(lines)` holds (edits from a picked item or a code action land a
   * moment after the key press), or the last lines read when it never does.
   */
  async editorLinesWhen(done: (lines: string[]) => boolean, timeoutMs = 10_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    let lines = await this.editorLines();
    while (!done(lines) && Date.now() < deadline) {
      await sleep(200);
      lines = await this.editorLines();
    }
    return lines;
  }

  /** Brackets the active editor's bracket-pair colouring flags as closing nothing (shown red). */
  async unexpectedClosingBrackets(): Promise<string[]> {
    return this.activeEditor().locator('.view-lines .unexpected-closing-bracket').allTextContents();
  }

  /** The colour each text is drawn in on the active editor's lines (its first token span of exactly that text). */
  async textColours(texts: string[]): Promise<Record<string, string>> {
    return this.activeEditor().locator('.view-lines').evaluate((root, wanted) => {
      const colours: Record<string, string> = {};
      for (const span of root.querySelectorAll('.view-line span > span')) {
        const text = span.textContent ?? '';
        if (wanted.includes(text) && !(text in colours)) colours[text] = getComputedStyle(span).color;
      }
      return colours;
    }, texts);
  }

  /** Moves to the end of the document and starts a new line. */
  async newLineAtEnd(): Promise<void> {
    await this.activeEditor().locator('.view-lines').click();
    await this.page.keyboard.press('Control+End');
    await this.page.keyboard.press('End');
    const lines = await this.editorLines();
    if ((lines[lines.length - 1] ?? '').trim() !== '') await this.page.keyboard.press('Enter');
  }

  async type(text: string): Promise<void> {
    await this.page.keyboard.type(text, { delay: 30 });
  }

  /** Puts text in at the cursor as one input (as a paste does): no bracket is closed, no key typed. */
  async insertText(text: string): Promise<void> {
    await this.page.keyboard.insertText(text);
  }

  /** Types an answer into the open input box (one with no list) and presses Enter. */
  async answerInputBox(text: string): Promise<void> {
    const input = this.quickInput().locator('input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await input.fill(text);
    await input.press('Enter');
  }

  /**
   * Picks the row of the open quick pick that holds `label`: waits for that row first (the quick pick
   * may open a moment after the input box before it closed), then filters to it and presses Enter.
   */
  async pickQuickPickRow(label: string): Promise<void> {
    await this.quickInput().locator('.monaco-list-row', { hasText: label }).first().waitFor({ timeout: 15_000 });
    const input = this.quickInput().locator('input');
    await input.fill(label);
    await this.quickInput().locator('.monaco-list-row.focused', { hasText: label }).first().waitFor({ timeout: 15_000 });
    await input.press('Enter');
  }

  /** Waits for a peek view (Peek References, Peek Definition) in the active editor. */
  async waitForPeekView(timeoutMs = 15_000): Promise<void> {
    await this.activeEditor().locator('.peekview-widget').first().waitFor({ state: 'visible', timeout: timeoutMs });
  }

  /** Renames the symbol at the cursor (F2), as a person would: the rename box, the new name, Enter. */
  async renameAtCursor(newName: string): Promise<void> {
    await this.page.keyboard.press('F2');
    const input = this.activeEditor().locator('.rename-box input').first();
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    // Into the box itself: keys sent before it has the focus would go to the editor.
    await input.fill(newName);
    await input.press('Enter');
  }

  async press(keys: string): Promise<void> {
    await this.page.keyboard.press(keys);
  }

  // ---- suggest widget -------------------------------------------------------------------------

  async suggestRows(): Promise<SuggestRow[]> {
    return this.page.locator('.suggest-widget.visible .monaco-list-row').evaluateAll((rows) =>
      rows.map((row) => ({
        label: (row.querySelector('.label-name')?.textContent ?? '').trim(),
        detail: [row.querySelector('.details-label'), row.querySelector('.label-description')]
          .map((el) => el?.textContent ?? '')
          .join(' ')
          .trim(),
        ariaLabel: row.getAttribute('aria-label') ?? '',
        focused: row.classList.contains('focused'),
      })),
    );
  }

  /** The rows of a suggest widget that opened by itself (a trigger character), without Ctrl+Space. */
  async suggestionsOpenedByTyping(timeoutMs = 15_000): Promise<SuggestRow[]> {
    await this.page.locator('.suggest-widget.visible .monaco-list-row').first().waitFor({ timeout: timeoutMs });
    await sleep(300);
    return this.suggestRows();
  }

  /**
   * Opens the suggest widget (Ctrl+Space) until `accept(rows)` holds: the language server may still
   * be starting, so an early request can come back empty.
   */
  async waitForSuggestions(accept: (rows: SuggestRow[]) => boolean, timeoutMs = 45_000): Promise<SuggestRow[]> {
    const deadline = Date.now() + timeoutMs;
    let rows: SuggestRow[] = [];
    const widget = this.page.locator('.suggest-widget.visible');
    for (;;) {
      // Ctrl+Space opens the widget; on an open one it would toggle the details pane instead
      if ((await widget.count()) === 0) await this.page.keyboard.press('Control+Space');
      try {
        await this.page.locator('.suggest-widget.visible .monaco-list-row').first().waitFor({ timeout: 3_000 });
        // rows fill in as the request resolves; read again once they have settled
        await sleep(300);
        rows = await this.suggestRows();
        if (accept(rows)) return rows;
      } catch {
        /* no widget yet */
      }
      if (Date.now() > deadline) {
        throw new Error(`the suggest widget never showed the expected items; last rows: ${JSON.stringify(rows.map((r) => r.label))}`);
      }
      await this.page.keyboard.press('Escape');
      await sleep(1_000);
    }
  }

  /** Shows the details pane of the selected suggestion (category, exact count, aliases) and returns its text. */
  async suggestDetails(): Promise<string> {
    const widget = this.page.locator('.suggest-widget.visible');
    if (!((await widget.getAttribute('class')) ?? '').includes('shows-details')) await this.page.keyboard.press('Control+Space');
    const details = this.page.locator('.suggest-details-container .suggest-details');
    await details.waitFor({ state: 'visible', timeout: 10_000 });
    // the documentation arrives through completionItem/resolve
    await this.page.waitForFunction(() => /posts/.test(document.querySelector('.suggest-details')?.textContent ?? ''), undefined, { timeout: 10_000 });
    return (await details.textContent()) ?? '';
  }

  // ---- status bar, notifications, panels ------------------------------------------------------

  async statusBarItems(): Promise<{ text: string; ariaLabel: string }[]> {
    return this.page.locator('.statusbar .statusbar-item').evaluateAll((items) =>
      items.map((item) => ({
        text: (item.textContent ?? '').trim(),
        ariaLabel: item.querySelector('[aria-label]')?.getAttribute('aria-label') ?? item.getAttribute('aria-label') ?? '',
      })),
    );
  }

  /** Waits for a status bar item whose text or accessible label matches. */
  async waitForStatusBarItem(match: RegExp, timeoutMs = 60_000): Promise<{ text: string; ariaLabel: string }> {
    const deadline = Date.now() + timeoutMs;
    let items: { text: string; ariaLabel: string }[] = [];
    for (;;) {
      items = await this.statusBarItems();
      const found = items.find((item) => match.test(item.text) || match.test(item.ariaLabel));
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(`no status bar item matched ${match}; items: ${JSON.stringify(items.map((i) => i.text))}`);
      }
      await sleep(250);
    }
  }

  /** The messages of the notification toasts on screen. */
  async notificationTexts(): Promise<string[]> {
    return (await this.page.locator('.notifications-toasts .notification-list-item-message').allTextContents()).map((t) =>
      t.replace(/\s+/g, ' ').trim(),
    );
  }

  async waitForNotification(match: RegExp, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const texts = await this.notificationTexts();
      const found = texts.find((t) => match.test(t));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no notification matched ${match}; shown: ${JSON.stringify(texts)}`);
      await sleep(250);
    }
  }

  /** Opens the Problems panel and returns its markers by file name (the messages as shown). */
  async problemsByFile(): Promise<Map<string, string[]>> {
    await this.runCommand('View: Focus Problems (Errors, Warnings, Infos)');
    const panel = this.page.locator('.markers-panel');
    await panel.waitFor({ timeout: 10_000 });
    const rows = await panel.locator('.monaco-list-row').evaluateAll((list) =>
      list.map((row) => ({
        level: row.getAttribute('aria-level'),
        ariaLabel: row.getAttribute('aria-label') ?? '',
        message: (row.querySelector('.marker-message-details, .marker-message')?.textContent ?? '').trim(),
      })),
    );
    const byFile = new Map<string, string[]>();
    let current: string[] | undefined;
    for (const row of rows) {
      // a file row ("2 problems in file checks.prompt of folder .") is followed by its markers
      const file = /in file (.+?) of folder/.exec(row.ariaLabel)?.[1];
      if (row.level === '1' && file) {
        current = [];
        byFile.set(file, current);
      } else if (current) {
        current.push(row.ariaLabel || row.message);
      }
    }
    return byFile;
  }

  /** The text the Output panel shows for a channel (the visible part of it). */
  async outputChannelText(channel: string): Promise<string> {
    await this.runCommand('Output: Show Output Channels...');
    await this.waitForQuickPickRow(channel);
    await this.quickInput().locator('input').fill(channel);
    await this.page.keyboard.press('Enter');
    const editor = this.page.locator('.panel .output-view .monaco-editor .view-lines');
    await editor.waitFor({ timeout: 10_000 });
    await sleep(500);
    return editor.evaluate((el) =>
      [...el.querySelectorAll<HTMLElement>('.view-line')]
        .map((line) => ({ top: parseFloat(line.style.top || '0'), text: (line.textContent ?? '').replace(/\u00a0/g, ' ') }))
        .sort((a, b) => a.top - b.top)
        .map((line) => line.text)
        .join('\n'),
    );
  }

  /**
   * The Explorer's Related Tags view, expanded if it was not: its message line and the labels of
   * its rows (a tag and its probability), as shown.
   */
  async relatedTagsView(): Promise<{ message: string; rows: string[] }> {
    const header = this.page.locator('.pane-header', { hasText: /Related Tags/i }).first();
    await header.waitFor({ timeout: 10_000 });
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
    const body = this.page.locator('.pane', { has: header }).locator('.pane-body');
    const message = ((await body.locator('.message').allTextContents()).join(' ')).trim();
    const rows = (await body.locator('.monaco-list-row').allTextContents()).map((text) => text.replace(/\s+/g, ' ').trim());
    return { message, rows };
  }

  /** The entries of the active editor's context menu (right-click on its text), closed again after. */
  async editorContextMenuEntries(): Promise<string[]> {
    await this.activeEditor().locator('.view-lines').click({ button: 'right' });
    return this.openMenuEntries();
  }

  /** The entries of the explorer's context menu on a file or folder, closed again after. */
  async explorerContextMenuEntries(relativePath: string): Promise<string[]> {
    await this.openExplorerContextMenu(relativePath);
    return this.openMenuEntries();
  }

  private async openMenuEntries(): Promise<string[]> {
    const menu = this.page.locator('.context-view .monaco-menu, .monaco-menu').first();
    await menu.waitFor({ timeout: 10_000 });
    const entries = (await menu.locator('.action-item .action-label').allTextContents()).map((text) => text.trim()).filter(Boolean);
    await this.page.keyboard.press('Escape');
    return entries;
  }

  /** Right-clicks a file in the explorer (expanding its folders) and picks a context-menu entry. */
  async explorerContextMenu(relativePath: string, entry: string): Promise<void> {
    await this.openExplorerContextMenu(relativePath);
    const item = this.page.locator('.context-view .action-item, .monaco-menu .action-item', { hasText: entry }).first();
    await item.waitFor({ timeout: 10_000 });
    // hover highlights the entry, Enter runs it (a synthetic click on the menu is not always taken)
    await item.hover();
    await this.page.keyboard.press('Enter');
  }

  private async openExplorerContextMenu(relativePath: string): Promise<void> {
    const parts = relativePath.split('/');
    const tree = this.page.locator('.explorer-folders-view');
    for (let i = 0; i < parts.length; i++) {
      const row = tree.locator(`.monaco-list-row[aria-label="${parts[i]}"], .monaco-list-row:has(.label-name:text-is("${parts[i]}"))`).first();
      await row.waitFor({ timeout: 15_000 });
      if (i < parts.length - 1) {
        if ((await row.getAttribute('aria-expanded')) !== 'true') await row.click();
      } else {
        await row.click({ button: 'right' });
      }
    }
  }
}
