/**
 * Golden input: every kind of type the generator maps, and the three patterns.
 */
import type { PyDate, PyTimedelta } from 'zrpc';
import type { Money, Page } from './common.js';
import type { Point } from './point.js';

export enum Color {
  Red = 'red',
  Green = 'green',
}

export enum Level {
  Low = 1,
  High = 2,
}

/** A tree, to show recursive types. */
export interface TreeNode {
  label: string;
  children: TreeNode[];
}

/** Two types that refer to each other. */
export interface Folder {
  name: string;
  files: File[];
}

export interface File {
  name: string;
  parent: Folder | null;
  /** @format date-time */
  modified?: string;
}

export type Id = string;

export interface Everything {
  n: number;
  /**
   * @integer
   * @minimum 0
   * @maximum 100
   */
  percent: number;
  /** @minLength 1 @maxLength 8 */
  code: string;
  /** How many, several tags on one line. @integer @minimum 1 */
  count: number;
  /** @pattern ^[a-z]+$ */
  slug: string;
  flag: boolean;
  nothing: null;
  maybe?: number;
  orUndefined: string | undefined;
  literal: 'on' | 'off' | 3 | true;
  color: Color;
  level: Level;
  list: number[];
  frozen: readonly string[];
  pair: [number, string];
  optionalTail: [number, string?];
  restTail: [string, ...number[]];
  inline: { x: number; y?: number };
  byKey: Record<string, boolean>;
  both: { a: number } & { b: string };
  when: Date;
  bytes: Uint8Array;
  big: bigint;
  anything: unknown;
  day: PyDate;
  span: PyTimedelta;
  id: Id;
  money: Money;
  page: Page<TreeNode>;
  readonly fixed: number;
}

/**
 * The request/reply service.
 * @rpc
 */
export interface Kitchen {
  /** Echoes everything back. */
  echo(value: Everything): Everything;
  /** Adds, with constraints on a parameter. */
  add(a: number, /** @minimum 0 */ b?: number): Promise<number>;
  tree(depth: number): TreeNode;
  list(folder: Folder, ...names: string[]): Page<File>;
  /** @throws {NotAllowed} when the kitchen is closed */
  cook(dish: string): void;
  /** A translated class, both ways. */
  move(p: Point, dx: number): Point;
  admin: Admin;
}

/** Back-office methods. */
export interface Admin {
  ping(): 'pong';
  audit: { log(line: string): boolean };
}

/** @pipeline */
export interface Audit {
  record(event: string, at: Date): void;
}

/** @pubsub */
export interface Events {
  changed(id: Id, color?: Color): void;
}
