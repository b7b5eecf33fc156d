/**
 * JSDoc tags as the generator reads them: every `@tag` in a declaration's doc comment,
 * with its value and position, several to a line if written so. Tags zrpc does not know
 * are errors with a suggestion, so a typo never silently drops a constraint.
 */
import { Node, ts } from './morph.js';
import { Code, diagnosticAtPos, type Diagnostic } from './diagnostics.js';

export interface Tag {
  name: string;
  /** Text after the name up to the next tag, comment prefixes removed. */
  value: string;
  /** Absolute position of the `@` in the source file. */
  pos: number;
}

export const constraintTags = [
  'integer',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minItems',
  'maxItems',
] as const;
export const serviceTags = ['rpc', 'pipeline', 'pubsub'] as const;

/** Documentation tags of JSDoc, TSDoc and TypeDoc: allowed anywhere, read by editors, not by zrpc. */
const docTags = new Set(
  (
    'abstract access alpha author beta category default defaultValue deprecated description example exception experimental ' +
    'group hidden ignore inheritDoc inheritdoc internal label license link linkcode linkplain note override packageDocumentation ' +
    'param privateRemarks public readonly remarks return returns see since summary template throws todo typeParam version virtual'
  ).split(' '),
);

/** Where a tag is written; decides which of zrpc's tags belong. */
export type TagPlace = 'service' | 'interface' | 'namespace' | 'method' | 'parameter' | 'property' | 'type';

const zrpcTags: Record<string, { places: readonly TagPlace[]; what: string }> = {
  ...Object.fromEntries(serviceTags.map((t) => [t, { places: ['service', 'interface'], what: 'marks a service interface' }])),
  ...Object.fromEntries(constraintTags.map((t) => [t, { places: ['parameter', 'property'], what: 'constrains a property or a parameter' }])),
  translator: { places: [], what: 'marks a class that travels as an ext type' },
  idempotent: { places: ['method'], what: 'marks a method that may safely run more than once' },
};

/** The tags of the doc comment that documents `node` (its last JSDoc block, or a `/**` comment right before it). */
export function tagsOf(node: Node): Tag[] {
  const comment = docComment(node);
  return comment ? parseTags(comment.text, comment.pos) : [];
}

function docComment(node: Node): { text: string; pos: number } | undefined {
  if (Node.isJSDocable(node)) {
    const doc = node.getJsDocs().at(-1);
    return doc && { text: doc.getText(), pos: doc.getStart() };
  }
  // Parameters take a comment written just before them: `f(/** @minimum 0 *\/ n: number)`.
  const full = node.getFullText();
  const ranges = (ts.getLeadingCommentRanges(full, 0) ?? []).filter((c) => full.startsWith('/**', c.pos));
  const last = ranges.at(-1);
  return last && { text: full.slice(last.pos, last.end), pos: node.getPos() + last.pos };
}

/**
 * Splits a doc comment into tags. A tag starts with `@` at the start of a line or after
 * white space; code in backticks (`@example` bodies) and `{@link …}` are not tags.
 */
export function parseTags(text: string, pos: number): Tag[] {
  const masked = text.replace(/```[\s\S]*?(```|$)|`[^`\n]*`/g, (m) => ' '.repeat(m.length));
  const starts: RegExpMatchArray[] = [];
  let patternLineEnd = -1;
  for (const match of masked.matchAll(/(?<=^|[\s*])@([A-Za-z][\w-]*)/g)) {
    // A regular expression may hold " @": after @pattern, only another constraint starts a tag on that line.
    if (match.index < patternLineEnd && !(constraintTags as readonly string[]).includes(match[1]!)) continue;
    starts.push(match);
    patternLineEnd = match[1] === 'pattern' ? (masked.indexOf('\n', match.index) + 1 || masked.length) : -1;
  }
  return starts.map((match, i) => {
    const end = i + 1 < starts.length ? starts[i + 1]!.index! : text.length;
    const value = text
      .slice(match.index! + match[0].length, end)
      .replace(/\*\/\s*$/, '')
      .replace(/\n[ \t]*\*?[ \t]?/g, '\n')
      .trim();
    return { name: match[1]!, value, pos: pos + match.index! };
  });
}

/**
 * Reports each tag that is unknown, or is one of zrpc's in a place where it means
 * nothing (a constraint on a method, `@rpc` on a property).
 */
export function checkTags(node: Node, place: TagPlace, diagnostics: Diagnostic[]): Tag[] {
  const tags = tagsOf(node);
  const source = node.getSourceFile();
  for (const tag of tags) {
    if (docTags.has(tag.name)) continue;
    const own = zrpcTags[tag.name];
    if (own) {
      if (!own.places.includes(place)) diagnostics.push(diagnosticAtPos(source, tag.pos, Code.MisplacedTag, misplaced(tag.name, own.what, place)));
      continue;
    }
    const guess = closest(tag.name, [...Object.keys(zrpcTags), ...docTags]);
    const hint = guess
      ? `did you mean @${guess}?`
      : 'it is neither a zrpc tag (@rpc, @pipeline, @pubsub, @throws, @translator, constraints such as @minimum) nor a standard doc tag';
    diagnostics.push(diagnosticAtPos(source, tag.pos, Code.UnknownTag, `unknown tag @${tag.name} on a ${place}; ${hint}`));
  }
  return tags;
}

function misplaced(name: string, what: string, place: TagPlace): string {
  const remedy =
    place === 'method' && (constraintTags as readonly string[]).includes(name)
      ? `: to constrain a parameter, write it just before the parameter, f(/** @${name} … */ x)`
      : '';
  return `@${name} ${what}, not a ${place}${remedy}`;
}

/** The known name nearest to a typo, if it is near enough to be what was meant. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}
