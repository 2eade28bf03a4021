import { InvalidArgumentError } from "commander";

// Parsers for commander: a bad value throws InvalidArgumentError, which commander reports as
// a usage error naming the argument.

/** A Telegram user id argument: a positive integer, or a usage error naming it. */
export function telegramId(value: string): number {
  if (
    !/^\d{1,16}$/.test(value.trim()) ||
    Number(value) <= 0 ||
    !Number.isSafeInteger(Number(value))
  ) {
    throw new InvalidArgumentError(
      `expected a Telegram user id (a positive integer), got "${value}".`,
    );
  }
  return Number(value);
}

/** A repeatable option: every value parsed, in the order given. */
export function collect<T>(parse: (value: string) => T) {
  return (value: string, previous: T[] = []) => [...previous, parse(value)];
}

/** The value as given, for {@link collect}. */
export const asText = (value: string) => value;

/** A yes/no argument: true, yes, 1, on or false, no, 0, off, in any case. */
export function yesNo(value: string): boolean {
  const lower = value.trim().toLowerCase();
  if (["true", "yes", "1", "on"].includes(lower)) return true;
  if (["false", "no", "0", "off"].includes(lower)) return false;
  throw new InvalidArgumentError(`expected true or false, got "${value}".`);
}
