/**
 * Terminal tools over the runtime: `zrpc describe`, `call`, `notify`, `publish` and
 * `subscribe`. They ship with zrpc-codegen and import the runtime as the `zrpc`
 * package; the runtime never imports them.
 */
export {
  EXIT,
  DEFAULT_TOOL_TIMEOUT,
  consoleOutput,
  describeCommand,
  callCommand,
  notifyCommand,
  publishCommand,
  subscribeCommand,
  fetchDescription,
  type Output,
  type ConnectFlags,
  type CallFlags,
  type OneWayFlags,
  type SubscribeFlags,
} from './commands.js';
export { formatDescription, formatMethod, typeText } from './describe.js';
export { parseCallArguments, type CallArguments } from './args.js';
export { toJson, fromJson, parseJson, InputError } from './json.js';
