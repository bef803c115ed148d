/**
 * Typed errors. Decoding never throws anything but a {@link DecodeError};
 * encoding a value that does not fit its field throws an {@link EncodeError}.
 *
 * The codes mirror the Rust reference decoder (`codec::DecodeError`,
 * `delta::ApplyError`, `mirror::MirrorError`), so a failure reads the same
 * on both sides: see `docs/PROTOCOL.md` sections 8.2, 8.4, 9.3 and 12.
 */

/** Why bytes did not decode, or a snapshot did not apply. */
export type DecodeErrorCode =
  /** The message is larger than the decoder accepts (16 MiB from a server). */
  | "TooLarge"
  /** The bytes end in the middle of a value. */
  | "Truncated"
  /** A complete message was followed by more bytes. */
  | "TrailingBytes"
  /** An enum tag (message, event, wire type) or an `Option` byte that names no variant. */
  | "UnknownVariant"
  /** A string that is not UTF-8 (outside a snapshot's changes, where it is `Malformed`). */
  | "InvalidUtf8"
  /** A length prefix beyond the decoder's limit. */
  | "LimitExceeded"
  /** Anything else: a varint too wide for its type, a non-canonical change, a value out of range in a change. */
  | "Malformed"
  /** A field of a game message out of its declared range (`field` says which). */
  | "OutOfRange"
  /** A game message type the descriptor does not have. */
  | "UnknownMessage"
  /** A delta removes or updates an entity the view does not hold (`entity` says which). */
  | "Missing"
  /** A delta spawns an entity the view already holds (`entity` says which). */
  | "AlreadyPresent"
  /** A delta based on a tick the view is not at. */
  | "BaseMismatch"
  /** A snapshot not newer than the view. */
  | "Stale"
  /** A descriptor that breaks the rules of section 7.3. */
  | "InvalidSchema"
  /** The descriptor's hash is not `Welcome.schema_hash`. */
  | "SchemaMismatch";

const MESSAGES: Record<DecodeErrorCode, string> = {
  TooLarge: "message too large",
  Truncated: "message truncated",
  TrailingBytes: "trailing bytes after message",
  UnknownVariant: "unknown message or variant tag",
  InvalidUtf8: "invalid utf-8 in string",
  LimitExceeded: "length prefix exceeds limit",
  Malformed: "malformed message",
  OutOfRange: "field out of range",
  UnknownMessage: "unknown message type",
  Missing: "delta names an entity the view does not hold",
  AlreadyPresent: "delta spawns an entity the view already holds",
  BaseMismatch: "snapshot is based on another tick than the view's",
  Stale: "snapshot is not newer than the view",
  InvalidSchema: "invalid schema descriptor",
  SchemaMismatch: "schema descriptor does not match the Welcome's hash",
};

/** Details some codes carry. */
export interface DecodeErrorDetail {
  /** `OutOfRange`: the field's index in its descriptor. */
  readonly field?: number;
  /** `Missing`, `AlreadyPresent`: the entity id. */
  readonly entity?: number;
}

/** Bytes that do not decode, or a snapshot that does not fit the view. */
export class DecodeError extends Error {
  override readonly name = "DecodeError";
  /** What went wrong, as the Rust decoder names it. */
  readonly code: DecodeErrorCode;
  /** `OutOfRange`: the field's index in its descriptor. */
  readonly field: number | undefined;
  /** `Missing`, `AlreadyPresent`: the entity id. */
  readonly entity: number | undefined;

  constructor(code: DecodeErrorCode, detail: DecodeErrorDetail = {}, message?: string) {
    let text = message ?? MESSAGES[code];
    if (detail.field !== undefined) text += ` (field ${detail.field})`;
    if (detail.entity !== undefined) text += ` (entity ${detail.entity})`;
    super(text);
    this.code = code;
    this.field = detail.field;
    this.entity = detail.entity;
  }
}

/** A value that cannot be encoded into its field: a bug in the caller. */
export class EncodeError extends Error {
  override readonly name = "EncodeError";
  /** The field's name in the descriptor (or the message's part). */
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}
