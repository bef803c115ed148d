/**
 * snapwire-client: the browser and Node client of snapwire game servers.
 *
 * Start with {@link Client}; see the package README for the mapping to
 * docs/PROTOCOL.md.
 */

export { Client } from "./client.js";
export { Room, JoinError } from "./room.js";
export type {
  ClientOptions,
  JoinOptions,
  LeaveInfo,
  Player,
  ReconnectInfo,
  ReconnectOptions,
  RoomState,
  Scheduler,
  WebSocketConstructor,
  WebSocketLike,
} from "./room.js";
export { DecodeError, EncodeError } from "./errors.js";
export type { DecodeErrorCode, DecodeErrorDetail } from "./errors.js";
export {
  CLIENT_DECODE_LIMIT,
  MAX_AUTH_TOKEN_BYTES,
  MAX_NAME_BYTES,
  PROTOCOL_VERSION,
  SERVER_DECODE_LIMIT,
  SUBPROTOCOL,
  applyZigzag,
  decodeClient,
  decodeMessage,
  decodeServer,
  encodeClient,
  encodeInputFields,
  encodeMessage,
  encodeServer,
  fieldValue,
  quantise,
  readEvents,
  readFields,
  readMessage,
  writeFields,
  zigzagDelta,
} from "./codec.js";
export type {
  ClientMsg,
  DecodedClientMsg,
  FieldValue,
  Fields,
  GameMessage,
  GameMessageMsg,
  Kicked,
  Pong,
  SchemaMsg,
  ServerEvent,
  ServerMsg,
  SnapshotHeader,
  Welcome,
  WorldInfo,
} from "./codec.js";
export { Mirror } from "./mirror.js";
export type { Applied, Entity, MirrorOptions } from "./mirror.js";
export { Conv, MAX_FIELDS, MAX_INPUT_SLOTS, MAX_STR_LEN, compileSchema, fnv1a64, readSchema, writeSchema } from "./schema.js";
export type { CompiledSchema, FieldDesc, KindDesc, KindLayout, Layout, MessageDesc, MessageLayout, Schema, Slot, WireType } from "./schema.js";
export { History, interpolate } from "./interpolation.js";
export { TickClock } from "./clock.js";
export { Predictor } from "./prediction.js";
export type { PredictorOptions, StepFn } from "./prediction.js";
export { ARENA_MOVE_SPEED, arenaDistance, arenaRule, arenaStep } from "./arena.js";
export type { ArenaInput, ArenaWalker } from "./arena.js";
export { CloseCode, backoffDelay, closeAction } from "./close.js";
export type { CloseAction } from "./close.js";
export { Reader, Writer, unzigzag, zigzag } from "./varint.js";
