/**
 * Typed errors. Decoding never throws anything but a {@link DecodeError};
 * encoding a value that does not fit its field throws an {@link EncodeError}.
 *
 * The codes mirror the Rust reference decoder (`codec::DecodeError`,
 * `delta::ApplyError`, `mirror::MirrorError`), so a failure reads the same
 * on both sides: see `docs/PROTOCOL.md` sections 8.2, 8.4, 9.3 and 12.
 */
const MESSAGES = {
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
/** Bytes that do not decode, or a snapshot that does not fit the view. */
export class DecodeError extends Error {
    constructor(code, detail = {}, message) {
        let text = message ?? MESSAGES[code];
        if (detail.field !== undefined)
            text += ` (field ${detail.field})`;
        if (detail.entity !== undefined)
            text += ` (entity ${detail.entity})`;
        super(text);
        this.name = "DecodeError";
        this.code = code;
        this.field = detail.field;
        this.entity = detail.entity;
    }
}
/** A value that cannot be encoded into its field: a bug in the caller. */
export class EncodeError extends Error {
    constructor(field, message) {
        super(`${field}: ${message}`);
        this.name = "EncodeError";
        this.field = field;
    }
}
