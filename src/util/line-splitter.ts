/** Lines from a stream of bytes or text (a shell recipe's output, what a TypeScript recipe prints). */
import { StringDecoder } from "node:string_decoder";

/**
 * Splits a stream's text into lines as node's readline does with crlfDelay: Infinity (\n, \r\n
 * and a lone \r end a line; a last line without an ending still counts).
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder("utf8");
  #rest = "";
  #cr = false;
  /** Bytes went to the decoder since it last ended: it may hold part of a character. */
  #bytes = false;

  constructor(readonly emit: (line: string) => void) {}

  push(bytes: Uint8Array): void {
    this.#bytes = true;
    this.#take(this.#decoder.write(bytes as Buffer));
  }

  /**
   * Text written as a string. Bytes of a character cut short by an earlier push() end there
   * (as U+FFFD): a recipe writing half a character as bytes and then a string.
   */
  text(text: string): void {
    if (this.#bytes) {
      this.#bytes = false;
      text = this.#decoder.end() + text;
    }
    this.#take(text);
  }

  /** The last line, even without an ending; the splitter then starts afresh. */
  end(): void {
    this.#bytes = false;
    this.#take(this.#decoder.end());
    if (this.#rest !== "") this.emit(this.#rest);
    this.#rest = "";
    this.#cr = false;
  }

  #take(text: string): void {
    let start = 0;
    // A \r\n split across two chunks is one line ending.
    if (this.#cr && text.charCodeAt(0) === 10) start = 1;
    this.#cr = false;
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.emit(this.#rest + text.slice(start, i));
      this.#rest = "";
      if (c === 13) {
        if (i + 1 === text.length) this.#cr = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    if (start < text.length) this.#rest += text.slice(start);
  }
}
