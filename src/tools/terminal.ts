/**
 * Text a peer chose, made fit for a terminal. Everything the tools print that a server
 * sent (names, docs, schema words, error types and messages) goes through `peerText`
 * or `peerLines`; JSON output through `jsonText`.
 */
import { escapeControls } from 'zrpc';
import { toJson } from './json.js';

/** Most of one text printed: enough for any real message or doc, and a 30 MB one stays short. */
export const MAX_PEER_TEXT = 2000;
/** Most of one name printed (a method, a parameter, an error type). */
export const MAX_PEER_NAME = 200;

/**
 * `text` on one line, with control characters escaped (they could drive the terminal
 * or forge lines), cut to `max` characters with a note of how many were left out.
 */
export function peerText(text: string, max = MAX_PEER_TEXT): string {
  const { head, left } = cut(text, max);
  return `${escapeControls(head)}${leftOut(left)}`;
}

/** `text` as lines (a doc comment), each escaped, all of them cut to `max` characters in all. */
export function peerLines(text: string, max = MAX_PEER_TEXT): string[] {
  const { head, left } = cut(text, max);
  const lines = head.split('\n').map((line) => escapeControls(line));
  lines[lines.length - 1] += leftOut(left);
  return lines;
}

/** A decoded value as JSON: exact, with the controls JSON.stringify leaves raw (C1, bidi) as \u escapes. */
export function jsonText(value: unknown, indent?: number): string {
  return escapeControls(JSON.stringify(toJson(value), null, indent), true);
}

function cut(text: string, max: number): { head: string; left: number } {
  if (text.length <= max) return { head: text, left: 0 };
  // Not between the two halves of a surrogate pair.
  const code = text.charCodeAt(max - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  return { head: text.slice(0, end), left: text.length - end };
}

function leftOut(left: number): string {
  return left > 0 ? `… (${left} more characters)` : '';
}
