/**
 * The entry point: a {@link Client} for one server URL joins rooms.
 *
 * ```ts
 * const client = new Client("ws://127.0.0.1:7777/play", { WebSocket });
 * const room = await client.join({ name: "ada", token });
 * ```
 */

import { Room, type ClientOptions, type JoinOptions } from "./room.js";

/** Connects to one snapwire server (`ws://HOST:PORT/play` or `wss://...`). */
export class Client {
  /** The server's WebSocket URL. */
  readonly url: string;
  private readonly options: ClientOptions;

  constructor(url: string, options: ClientOptions = {}) {
    this.url = url;
    this.options = options;
  }

  /**
   * Joins a room (with a join token or seat reservation when the server
   * asks for one, or a session token to resume). Resolves once the
   * `Welcome`, the descriptor and the first (complete) snapshot are in;
   * rejects with a {@link JoinError} if the server closes first.
   */
  join(options: JoinOptions = {}): Promise<Room> {
    return new Room(this.url, this.options, options).start();
  }
}
