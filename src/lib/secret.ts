import { inspect } from 'node:util';

/**
 * A resolved secret. It prints as `[redacted]` everywhere (JSON, util.inspect, template strings),
 * so a config object can be logged without leaking; `reveal()` is the one way to read it.
 */
export class Secret {
  readonly #value: string;
  readonly source: string;
  constructor(value: string, source: string) {
    this.#value = value;
    this.source = source;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return `Secret(${this.source})`;
  }
}
